"""The fit judged on ground truth: music whose beats and bars are known exactly.

    make bench-fit      (this table first, then the real-music tables of fit_quality.py)

Corpus: ``bench/ground_truth.py`` (General MIDI songs from Debian packages, rendered with
fluidsynth; each grid checked against its audio). Three methods, in one run:
- ``v2``: the engine as it was before v3 (commit ``V2_COMMIT``, unpacked from git into
  build/bench-cache, so the bench keeps a copy without the tree keeping two);
- ``v3``: ScoreFit's fit engine now (scorefit.core.fit);
- ``trim``: cut at the length, fade the last 2 s.
Per track (both engines): beat F-measure (70 ms), right tempo level and phase (F >= 0.8)
and the mistake where not, downbeat F (tracks whose bars are checked), metre right. Per fit
at 45, 70 and 90 % of the track: every join on the true grid (beat-breaking: more than
35 ms off a whole number of true beats; whole true bars; both sides on true downbeats),
the level step across it, whether the ending is kept, and where its audible end lands.
"""
from __future__ import annotations

import importlib
import json
import statistics
import subprocess
import sys
import tarfile
import io
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import ground_truth  # noqa: E402
from fit_quality import audible_end, ending_alignment, loud_level, options_from, rms_db  # noqa: E402

V2_COMMIT = "66d57e1"           # the last commit of the v2 engine
RATE = 48000
SHARES = (0.45, 0.70, 0.90)


def engine(name: str, options=None):
    """(analyse, fit) of the named engine; v3 with ``options`` (FitOptions) where given."""
    if name == "v3":
        import functools
        from scorefit.core import analysis, fit
        if options is None:
            return analysis.analyse, fit.fit
        return (functools.partial(analysis.analyse, options=options.analysis),
                functools.partial(fit.fit, options=options))
    folder = ground_truth.CACHE.parent / f"engine-{V2_COMMIT}"
    if not folder.exists():
        archive = subprocess.run(["git", "archive", V2_COMMIT, "addon/core"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        package = folder / "scorefit_v2"
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder / "tmp")
        (folder / "tmp" / "addon").rename(package)
        (package / "__init__.py").write_text("")
    sys.path.insert(0, str(folder))
    analysis = importlib.import_module("scorefit_v2.core.analysis")
    fit = importlib.import_module("scorefit_v2.core.fit")
    return analysis.analyse, fit.fit


def grid_scores(analysis, truth) -> dict:
    beats = np.array(truth.beats)
    estimate = np.asarray(analysis.beats) if analysis.pulse else np.zeros(0)
    row = {"beat_f": ground_truth.f_measure(estimate, beats),
           "error": ground_truth.beat_error(estimate, truth) if estimate.size else "no beat",
           "meter_right": bool(analysis.pulse and analysis.meter == truth.meter)}
    if truth.bars_trusted:
        downs = np.asarray(analysis.downbeats) if analysis.pulse else np.zeros(0)
        row["downbeat_f"] = ground_truth.f_measure(downs, np.array(truth.downbeats))
    return row


def measure(truth, wav: Path, engines: dict) -> list[dict]:
    import soundfile
    from scorefit.core.audio import Audio
    samples, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    audio = Audio(samples, rate)
    mono = samples.mean(axis=1)
    reference = loud_level(mono, rate)
    rows = []
    for name, (analyse, fit) in engines.items():
        rows.append({"track": truth.name, "method": name, "kind": "grid", **grid_scores(analyse(audio), truth)})
    for share in SHARES:
        target = int(share * samples.shape[0])
        for name, (analyse, fit) in [*engines.items(), ("trim", (None, None))]:
            if fit is None:
                out = samples[:target].copy()
                out[-2 * rate:] *= np.linspace(1, 0, 2 * rate, dtype=np.float32)[:, None]
                joins, report = [], None
            else:
                fitted, report = fit(audio, target, rate)
                out = fitted.samples
                joins = [(j.output_seconds, j.source_from, j.source_to) for j in report.joins]
            out_mono = out.mean(axis=1)
            row = {"track": truth.name, "method": name, "kind": "fit", "share": share, "joins": []}
            for at, source_from, source_to in joins:
                i = int(at * rate)
                judged = ground_truth.judge_join(source_from, source_to, truth)
                judged["level"] = abs(rms_db(out_mono[max(0, i - 2 * rate):i]) - rms_db(out_mono[i:i + 2 * rate]))
                row["joins"].append(judged)
            end = audible_end(out_mono, rate, reference)
            row["end_error_ms"] = 1000 * (end - out_mono.size / rate)
            # The ending is kept when the output's last 5 s are the source's ending (correlation).
            row["ending_kept"] = bool(ending_alignment(out_mono, mono, rate)[0] >= 0.8)
            row["method_used"] = getattr(report, "method", "trim")
            row["late_start_ms"] = getattr(report, "late_start_ms", 0.0)
            rows.append(row)
    return rows


def pct(part, whole) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def summarise(rows: list[dict], names: list[str]) -> None:
    print(f"\n{'':34}" + "".join(f"{n:>14}" for n in names))
    grid = {n: [r for r in rows if r["method"] == n and r["kind"] == "grid"] for n in names if n != "trim"}
    fits = {n: [r for r in rows if r["method"] == n and r["kind"] == "fit"] for n in names}

    def line(label, values):
        print(f"{label:34}" + "".join(f"{v:>14}" for v in values))
    line("beat F (70 ms), mean", [f"{statistics.mean(r['beat_f'] for r in grid[n]):.2f}" if n in grid else "-"
                                  for n in names])
    line("right level and phase", [f"{sum(r['error'] == 'right' for r in grid[n])} / {len(grid[n])}"
                                   if n in grid else "-" for n in names])
    line("downbeat F (bars checked), mean", [f"{statistics.mean(r['downbeat_f'] for r in grid[n] if 'downbeat_f' in r):.2f}"
                                             if n in grid else "-" for n in names])
    line("metre right", [f"{sum(r['meter_right'] for r in grid[n])} / {len(grid[n])}" if n in grid else "-"
                         for n in names])
    joins = {n: [j for r in fits[n] for j in r["joins"]] for n in names}
    line("joins", [str(len(joins[n])) for n in names])
    line("  keep whole true beats", [pct(sum(not j["breaks_beat"] for j in joins[n]), len(joins[n])) for n in names])
    line("  beat-breaking (> 35 ms)", [pct(sum(j["breaks_beat"] for j in joins[n]), len(joins[n])) for n in names])
    trusted = {n: [j for j in joins[n] if j["bars_trusted"]] for n in names}
    line("  whole true bars (bars checked)", [pct(sum(j["whole_bars"] for j in trusted[n]), len(trusted[n]))
                                              for n in names])
    line("  on true downbeats", [pct(sum(j["on_downbeats"] for j in trusted[n]), len(trusted[n])) for n in names])
    line("  level step <= 3 dB", [pct(sum(j["level"] <= 3 for j in joins[n]), len(joins[n])) for n in names])
    line("ending kept", [pct(sum(r["ending_kept"] for r in fits[n]), len(fits[n])) for n in names])
    line("heard from the first frame", [pct(sum(r["late_start_ms"] <= 42 for r in fits[n]), len(fits[n]))
                                        for n in names])
    line("audible end within 50 ms", [pct(sum(abs(r["end_error_ms"]) <= 50 for r in fits[n]), len(fits[n]))
                                      for n in names])
    for n in grid:
        errors = {}
        for r in grid[n]:
            errors[r["error"]] = errors.get(r["error"], 0) + 1
        print(f"{n} beat mistakes: " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items(), key=lambda kv: -kv[1])))


def main(argv=None) -> None:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="engines to run (v2, v3)", default=["v2", "v3"])
    parser.add_argument("--tracks", type=int, default=0, help="the first N tracks only (0: all)")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="run v3 with this FitOptions field changed, e.g. late_start_cost=2 or "
                             "analysis.slower_ratio=9 (repeatable): tune by options, not by patching code")
    args = parser.parse_args(argv)
    tracks = ground_truth.corpus(verbose=False)
    if args.tracks:
        tracks = tracks[:args.tracks]
    options = options_from(args.option) if args.option else None
    engines = {name: engine(name, options) for name in args.only}
    rows = []
    for truth, wav in tracks:
        mine = measure(truth, wav, engines)
        rows += mine
        print(f"{truth.name:34} " + " ".join(f"{r['method']} F {r['beat_f']:.2f} ({r['error']})"
                                             for r in mine if r["kind"] == "grid"), flush=True)
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "fit_ground_truth.json").write_text(json.dumps(rows, indent=1, default=str))
    print(f"\nGround truth: {len(tracks)} tracks ({sum(t.bars_trusted for t, _ in tracks)} with bars checked), "
          f"fitted to {', '.join(f'{int(100 * s)} %' for s in SHARES)} of their length")
    summarise(rows, [*engines, "trim"])


if __name__ == "__main__":
    main()
