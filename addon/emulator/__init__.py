"""A local, faithful MusicAPI emulator (see server.py). Host-free, like the core."""
from .server import DEFAULT_KEY, Emulator, Fault

__all__ = ["DEFAULT_KEY", "Emulator", "Fault"]
