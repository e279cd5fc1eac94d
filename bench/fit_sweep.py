"""Does the fit keep its promises on every track, at every length an editor might ask for?

    make bench-fit-sweep    (the music of bench-fit and bench-fit-held-out)

Each track of both corpora is fitted to bench-fit's lengths and to 3, 10 and 30 s
(stings and short cuts, which bench-fit does not try) and 1 and 2 s short of the track.
Every fit must come out exactly as long as asked, finite and unclipped; a bar cut must
land its ending within a frame at 24 fps, and its start must give way by less than a bar
(silence first, or the song entered before its second bar line and faded in up to a beat); a
fit that cannot be made must fail as ``FitError`` with a message. Prints one line per
track, the methods chosen, and every broken promise; then, for the short cuts (3, 10 and
30 s: stings, bumpers, spots), in how many the music's real ending is kept, of the tracks
that have one, and how much of the cut a fade takes; and how many bar cuts are heard from
the first frame (less than a frame at 24 fps of silence).
"""
from __future__ import annotations

import sys
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from fit_quality import CORPUS, HELD_OUT, RATE, decode, targets


SHORT = (3 * RATE, 10 * RATE, 30 * RATE)


def lengths(frames: int) -> list[int]:
    wanted = list(SHORT) + targets(frames) + [frames - RATE, frames - 2 * RATE]
    return [t for t in wanted if 0 < t <= frames]


def broken(out, report, target: int) -> list[str]:
    problems = []
    if out.frames != target:
        problems.append(f"{out.frames} samples, not {target}")
    if not np.isfinite(out.samples).all():
        problems.append("not finite")
    elif np.abs(out.samples).max() > 4.0:
        problems.append(f"peaks at {np.abs(out.samples).max():.1f}")
    if report.method in ("bars", "ending") and abs(report.ending_error_ms) > 42:
        problems.append(f"ending {report.ending_error_ms:+.0f} ms off the last frame")
    if report.method == "bars":
        # The start gives way by less than a bar: late, or entered before the song's second
        # bar line (in its first bar, or in a pickup before it), fading in up to a beat.
        beat = 60 / report.bpm
        if report.late_start_ms > 1000 * report.meter * beat:
            problems.append(f"comes in {report.late_start_ms:.0f} ms late: more than a bar")
        if report.late_start_ms and report.opening_cut_ms:
            problems.append("comes in late and also leaves out some of the opening")
        if report.opening_cut_ms and not 0 < report.fade_in_seconds <= beat + 0.001:
            problems.append(f"enters the song with a {report.fade_in_seconds:.2f} s fade-in, not up to a beat")
    return problems


def sweep(path):
    from scorefit.core.audio import conform
    from scorefit.core.fit import FitError, fit
    music = conform(decode(path), RATE)
    methods, problems, short, late = [], [], [], []
    for target in lengths(music.frames):
        name = f"{target / RATE:.0f} s"
        try:
            out, report = fit(music, target, RATE)
        except FitError as error:
            methods.append("refused")
            if not str(error):
                problems.append(f"{name}: FitError without a message")
            continue
        except Exception:       # noqa: BLE001 - the point is to find any
            methods.append("crashed")
            problems.append(f"{name}: {traceback.format_exc(limit=3)}")
            continue
        methods.append(report.method)
        if report.method == "bars":
            late.append(report.late_start_ms / 1000)
        problems += [f"{name}: {p}" for p in broken(out, report, target)]
        if target in SHORT:
            short.append((target // RATE, report.ending != "none", report.ending_kept,
                          report.fade_seconds * RATE / target))
    return path.name, methods, problems, short, late


def main() -> int:
    paths = [p for _, _, p in CORPUS + HELD_OUT]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"bench: install the music first (make bench-fit bench-fit-held-out); missing {missing[0]}")
    tally, failures, short, late = Counter(), 0, [], []
    with ProcessPoolExecutor(2) as pool:
        for name, methods, problems, cuts, starts in pool.map(sweep, paths):
            tally.update(methods)
            short += cuts
            late += starts
            failures += len(problems)
            print(f"{name:28} {' '.join(methods)}", flush=True)
            for problem in problems:
                print(f"    BROKEN {problem}", flush=True)
    print(f"\n{sum(tally.values())} fits of {len(paths)} tracks: "
          + ", ".join(f"{method} {count}" for method, count in tally.most_common())
          + f"; broken promises: {failures}")
    for seconds in sorted({cut[0] for cut in short}):
        cuts = [cut for cut in short if cut[0] == seconds]
        with_ending = [cut for cut in cuts if cut[1]]
        fades = [cut[3] for cut in cuts if cut[3] > 0]
        print(f"{seconds:3d} s cuts: the real ending kept in {sum(cut[2] for cut in with_ending)} of "
              f"{len(with_ending)} tracks that have one; {len(fades)} fade, over "
              f"{np.median(fades) if fades else 0:.0%} of the cut (median)")
    if late:
        print(f"bar cuts heard from the first frame: {sum(t <= 0.042 for t in late)} of {len(late)}; "
              f"the rest come in at most {max(late):.2f} s late")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
