"""Shared fixtures: a real emulator on loopback, a client with short backoffs, a temp library."""
from __future__ import annotations

import os

import pytest

from scorefit.core.library import Library
from scorefit.core.musicapi import MusicAPIClient, RetryPolicy
from scorefit.core.pipeline import PollSchedule
from scorefit.emulator import DEFAULT_KEY, Emulator

SPEED = 0.002          # the emulator takes 0.2 % of the real service time
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, connect_timeout=2, read_timeout=2)


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """No test reads or writes the real user's ScoreFit folders or key."""
    monkeypatch.setenv("SCOREFIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SCOREFIT_CONFIG", str(tmp_path / "config" / "config.json"))
    monkeypatch.delenv("MUSICAPI_KEY", raising=False)


@pytest.fixture
def emulator():
    # 22.05 kHz keeps synthesis quick; the fit resamples to the host rate as it would anyway.
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
    return PollSchedule(min_interval=3.0, max_interval=20.0, time_scale=SPEED)


def pytest_collection_modifyitems(items):
    # Blender tests need the bpy module; elsewhere they are skipped with a reason.
    if os.environ.get("SCOREFIT_ONLY_BLENDER"):
        items[:] = [i for i in items if "blender" in i.keywords]
