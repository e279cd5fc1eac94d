"""ScoreFit benchmarks, measured in one run against the emulator with known service times.

Prints ratios, not absolute times, because these machines are shared and noisy:
- end-to-end time / service time: how much ScoreFit adds to the time MusicAPI works
  (polling lag, downloads, fitting). 1.0 would be no overhead at all;
- polls per task, for ScoreFit's schedule and for the vendor's fixed 20 s interval;
- detection lag (time from a task finishing to ScoreFit noticing) as a share of service time;
- fit time for a 10-minute track, and its ratio to the track's length.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from scorefit.core import fit as F
from scorefit.core.audio import Audio
from scorefit.core.library import Library
from scorefit.core.musicapi import MusicAPIClient
from scorefit.core.pipeline import Pipeline, PollSchedule
from scorefit.core.plan import Settings, make_plan
from scorefit.core.prompt import derive_prompt
from scorefit.core.timeline import FrameRate, Marker, Timeline
from scorefit.emulator import DEFAULT_KEY, Emulator, synth

SPEED = 0.03   # the emulator runs at 3 % of MusicAPI's real service time


def service_time(emulator) -> float:
    """Wall time the emulator's tasks took, back to back (what an ideal client would wait)."""
    total = 0.0
    for task in emulator.state.tasks.values():
        total += max(c.ready_at for c in task.clips) - task.created
    return total


def detection_lag(emulator) -> float:
    """Mean time from a task being complete to the client's first poll that saw it."""
    lags = []
    for task_id, task in emulator.state.tasks.items():
        ready = max(c.ready_at for c in task.clips)
        seen = [r["clock"] for r in emulator.state.log
                if r["path"].endswith(task_id) and r["clock"] >= ready]
        if seen:
            lags.append(min(seen) - ready)
    return sum(lags) / len(lags)


def run_job(schedule: PollSchedule, seconds: float, label: str) -> dict:
    with Emulator(speed=SPEED, sample_rate=48000, seed=11) as emulator, tempfile.TemporaryDirectory() as tmp:
        tl = Timeline(FrameRate(24000, 1001), round(seconds * 24000 / 1001),
                      name="Benchmark cut", markers=(Marker(2400, "tense build"),))
        plan = make_plan(tl, derive_prompt(tl), Settings(model="sonic-v4-5"), emulator.url)
        pipeline = Pipeline(MusicAPIClient(DEFAULT_KEY, emulator.url), Library(Path(tmp)), schedule=schedule)
        started = time.monotonic()
        pipeline.run(plan)
        elapsed = time.monotonic() - started
        service = service_time(emulator)
        polls = list(pipeline.polls.values())
        return {"label": label, "elapsed": elapsed, "service": service, "tasks": len(polls),
                "lag": detection_lag(emulator) / (service / len(polls)),
                "polls": sum(polls) / len(polls)}


def fit_benchmark(minutes: float = 10.0) -> tuple[float, float]:
    style = synth.Style.from_text("benchmark", 48000)
    pcm = synth.render(style, [synth.Segment(0, minutes * 60 + 8, 1)], ending=False)
    music = Audio(np.frombuffer(pcm, "<i2").reshape(-1, 2).astype(np.float32) / 32768, 48000)
    started = time.perf_counter()
    out, report = F.fit(music, int(minutes * 60 * 48000), 48000)
    took = time.perf_counter() - started
    assert out.frames == int(minutes * 60 * 48000)
    return took, took / (minutes * 60)


def main() -> int:
    # Warm-up, not measured: the emulator renders each song's bars once and caches them.
    run_job(PollSchedule(time_scale=SPEED), 300, "warm-up")
    ours = run_job(PollSchedule(time_scale=SPEED), 300, "ScoreFit schedule")
    fixed = run_job(PollSchedule(min_interval=20, max_interval=20, time_scale=SPEED), 300,
                    "fixed 20 s polling")
    print("5-minute timeline, sonic-v4-5, emulator at", SPEED, "x real service time")
    for r in (ours, fixed):
        print(f"  {r['label']:<20} end-to-end / service time: {r['elapsed'] / r['service']:.2f}   "
              f"polls per task: {r['polls']:.1f}   detection lag / task time: {r['lag']:.3f}   "
              f"({r['tasks']} tasks)")
    print(f"  end-to-end, ScoreFit / fixed 20 s polling: {ours['elapsed'] / fixed['elapsed']:.2f}")
    took, ratio = fit_benchmark()
    print(f"fit of a 10-minute 48 kHz track: {took:.2f} s ({ratio * 100:.2f} % of the track's length)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
