"""Shared fixtures: a real emulator on loopback, a client with short backoffs, a temp library."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from scorefit.core.library import Library
from scorefit.core.musicapi import ManualClock, MusicAPIClient
from scorefit.core.pipeline import PollSchedule
from scorefit.emulator import DEFAULT_KEY, Emulator

from support import FAST_RETRY, SPEED  # noqa: E402


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """No test reads or writes the real user's ScoreFit folders or key."""
    monkeypatch.setenv("SCOREFIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SCOREFIT_CONFIG", str(tmp_path / "config" / "config.json"))
    monkeypatch.delenv("MUSICAPI_KEY", raising=False)


@pytest.fixture
def emulator():
    """An emulator on a ManualClock: its tasks move on only while a client (or a pipeline
    given ``clock=emulator.clock``) waits for them, so no test races the machine's load.
    22.05 kHz keeps synthesis quick; the fit resamples to the host rate as it would anyway."""
    with Emulator(speed=SPEED, sample_rate=22050, seed=1, clock=ManualClock()) as emu:
        yield emu


@pytest.fixture
def live_emulator():
    """An emulator on real time, for runs through the command line, which wait in real time."""
    with Emulator(speed=SPEED, sample_rate=22050, seed=1) as emu:
        yield emu


@pytest.fixture
def client(emulator):
    return MusicAPIClient(DEFAULT_KEY, emulator.url, retry=FAST_RETRY)


@pytest.fixture
def library(tmp_path):
    return Library(tmp_path / "library")


@pytest.fixture
def schedule():
    return PollSchedule(time_scale=SPEED)


import importlib.util  # noqa: E402
import sys  # noqa: E402

sys.path[:0] = [str(Path(__file__).parent / "blender"), str(Path(__file__).parent / "resolve")]

# Blender tests need the bpy module. `make test` installs it and sets SCOREFIT_REQUIRE_BLENDER,
# so there a missing bpy fails; a plain `pytest` elsewhere leaves the folder out and says so.
HAVE_BPY = importlib.util.find_spec("bpy") is not None
collect_ignore = [] if HAVE_BPY or os.environ.get("SCOREFIT_REQUIRE_BLENDER") else ["blender"]


def pytest_report_header(config):
    if collect_ignore:
        return "tests/blender left out: no bpy module here (make test installs Blender 5.0 and 4.2)"
    return None
