import pytest

from scorefit.core import config
from scorefit.emulator import DEFAULT_KEY, Emulator


@pytest.fixture
def service(monkeypatch):
    """An emulator the editor started; ScoreFit reads its speed and polls at its pace."""
    with Emulator(speed=0.002, sample_rate=22050, seed=5) as emu:
        monkeypatch.setenv("MUSICAPI_KEY", DEFAULT_KEY)
        config.save_settings(base_url=emu.url, alternate=False)
        yield emu
