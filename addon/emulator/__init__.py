"""A local, faithful MusicAPI emulator (see server.py). Host-free, like the core, which never
imports it: a host that offers the built-in emulator starts one with :func:`built_in` and
hands it to ``core.session.connect``."""
import importlib.util

from ..core.errors import ScoreFitError
from .server import DEFAULT_KEY, Emulator, Fault

# The built-in emulator runs at 2 % of the real service's time, so a trial takes seconds.
BUILT_IN_SPEED = 0.02


class EmulatorUnavailable(ScoreFitError):
    hint = "Choose WAV output (the emulator serves WAV without it). Nothing was sent."


def built_in(output: str = "wav", *, apart: bool = False, seed: int = 0):
    """A started emulator for trying ScoreFit for free; stopped when the job ends. MP3
    needs the LAME encoder (``lameenc``), which Blender's extension does not bundle:
    refused here, before anything starts, rather than as a broken download later.

    ``apart``: in a process of its own (see ``process``), for a host whose UI thread
    shares this interpreter; where this interpreter cannot start another, in this one.
    ``seed``: the take number, so another take is other music, as the real service's is."""
    if output == "mp3" and importlib.util.find_spec("lameenc") is None:
        raise EmulatorUnavailable("The built-in emulator cannot make MP3 files here: its encoder "
                                  "(the lameenc package) is not installed.")
    if apart:
        from .process import EmulatorProcess, can_run_apart
        if can_run_apart():
            return EmulatorProcess(speed=BUILT_IN_SPEED, seed=seed)
    return Emulator(speed=BUILT_IN_SPEED, seed=seed).start()


__all__ = ["BUILT_IN_SPEED", "DEFAULT_KEY", "Emulator", "EmulatorUnavailable", "Fault", "built_in"]
