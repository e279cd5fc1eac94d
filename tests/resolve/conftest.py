import pytest

from scorefit.core import config
from scorefit.emulator import DEFAULT_KEY, Emulator


@pytest.fixture
def service(monkeypatch):
    """An emulator the editor started, and told ScoreFit its pace (the config's time_scale)."""
    with Emulator(speed=0.002, sample_rate=22050, seed=5) as emu:
        monkeypatch.setenv("MUSICAPI_KEY", DEFAULT_KEY)
        config.save_settings(base_url=emu.url, alternate=False, time_scale=emu.speed)
        yield emu
