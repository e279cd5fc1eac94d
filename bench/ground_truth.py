"""Music whose beats and bars are known exactly, made here, and the judge that uses it.

Source: General MIDI songs that Debian packages (the tempo map and time signatures in the
file give every beat and bar line to the tick), rendered to audio with fluidsynth and the
FluidR3 GM soundfont. Nothing is committed: the packages are unpacked with ``dpkg -x``
into ``build/bench-cache/ground-truth`` (no install, no dependencies) and rendered there.

Each track's grid is checked before it is trusted:
- **against its audio**: the onset strength (spectral flux, computed here, not by
  ScoreFit) summed at the grid's beats, with the grid shifted by -150..+150 ms; the
  best shift must lie within ``MAX_LAG`` of zero, or the track is left out;
- **bar lines against the notes**: the low notes (kick drum, bass, chord roots) that start
  on each beat of the bar; the downbeat must carry the most of them, or the track's bars
  are not trusted (its beats still count).

Beats are the time signature's counted beat: its denominator, except compound metres
(6/8, 9/8, 12/8), whose beat is the dotted quarter. Bars shorter than a quarter note (a
tick of lead-in some files start with) carry no beat.

Reserved for independent checks and never read here: openttd-openmsx, fretsonfire-songs-*,
drascula-music, hyperrogue-music.
"""
from __future__ import annotations

import json
import subprocess
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "bench-cache" / "ground-truth"
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RATE = 48000
MAX_LAG = 0.020             # seconds: a grid whose audio peaks further off is not trusted
BAR_CHECK_SHARE = 0.9      # of the busiest beat's low-note starts, the downbeat must carry this
LONGEST = 330.0             # seconds: longer files (hour-long loops) are left out, for bench time
RESERVED = ("openttd-openmsx", "fretsonfire-songs", "drascula-music", "hyperrogue-music")
# (Debian package, licence from its copyright file, folder inside the package).
PACKAGES = [
    ("simutrans-data", "Artistic-1.0", "usr/share/games/simutrans/music"),
    ("planetblupi-music-midi", "GPL-3+", "usr/share/planetblupi/music"),
    ("liquidwar-data", "GPL-2+", "usr/share/games/liquidwar/music"),
    ("kobodeluxe-data", "GPL-2+", "usr/share/kobo-deluxe/sfx"),
    ("mma", "GPL-2+", "usr/share/doc/mma/examples/aria"),
]


@dataclass
class Truth:
    name: str
    package: str
    licence: str
    beats: list                 # seconds
    downbeats: list             # seconds
    meter: int                  # beats per bar (the most common)
    bpm: float                  # median
    first_note: float
    last_note: float            # the last note's end, seconds
    lag_ms: float = 0.0         # where the audio's onsets peak against the grid
    bars_trusted: bool = True
    drums: bool = False
    tempo_changes: int = 0
    meters: tuple = ()


# --- the grid from the MIDI file ------------------------------------------------------
def _events(path: Path):
    import mido
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        midi = mido.MidiFile(str(path))
    tick, tempos, signatures, notes, ends = 0, [(0, 500000)], [], [], []
    for message in mido.merge_tracks(midi.tracks):
        tick += message.time
        if message.type == "set_tempo":
            tempos.append((tick, message.tempo))
        elif message.type == "time_signature":
            # A repeat of the signature in force is no bar line (some files repeat it mid-bar).
            if not signatures or signatures[-1][1:] != (message.numerator, message.denominator):
                signatures.append((tick, message.numerator, message.denominator))
        elif message.type == "note_on" and message.velocity:
            notes.append((tick, message.channel, message.note))
        elif message.type in ("note_off", "note_on"):
            ends.append(tick)
    # A stable sort by tick: of two tempos set at one tick, the later in the file wins.
    return (midi.ticks_per_beat, sorted(tempos, key=lambda event: event[0]), signatures or [(0, 4, 4)], notes,
            max(ends + [0]))


def _seconds(ticks: np.ndarray, tempos, per_quarter: int) -> np.ndarray:
    """Tick -> seconds through the tempo map (the last tempo set at a tick wins)."""
    at = np.array([t for t, _ in tempos], dtype=float)
    rate = np.array([u for _, u in tempos], dtype=float) / 1e6 / per_quarter      # s per tick
    keep = np.append(at[1:] != at[:-1], True)
    at, rate = at[keep], rate[keep]
    base = np.concatenate([[0.0], np.cumsum(np.diff(at) * rate[:-1])])
    segment = np.searchsorted(at, ticks, side="right") - 1
    return base[segment] + (ticks - at[segment]) * rate[segment]


def midi_truth(path: Path, package: str, licence: str) -> Truth | None:
    per_quarter, tempos, signatures, notes, end_tick = _events(path)
    if not notes:
        return None
    beat_ticks, down_ticks, meters = [], [], []
    for k, (start, numerator, denominator) in enumerate(signatures):
        stop = signatures[k + 1][0] if k + 1 < len(signatures) else end_tick + 1
        unit = per_quarter * 4 / denominator
        per_bar = numerator
        if denominator == 8 and numerator in (6, 9, 12):
            unit, per_bar = unit * 3, numerator // 3
        bar = unit * per_bar
        tick = float(start)
        while tick < stop:
            if bar >= per_quarter:                  # a lead-in tick shorter than a beat has none
                down_ticks.append(tick)
                beat_ticks.extend(tick + unit * np.arange(per_bar))
                meters.append(per_bar)
            tick += bar
    note_ticks = np.array(sorted(t for t, _, _ in notes), dtype=float)
    beats = _seconds(np.array(beat_ticks), tempos, per_quarter)
    downs = _seconds(np.array(down_ticks), tempos, per_quarter)
    first, last = _seconds(note_ticks[[0, -1]], tempos, per_quarter)
    end = float(_seconds(np.array([end_tick], float), tempos, per_quarter)[0])
    # Beats where music plays: from the first note's beat to the last note.
    inside = (beats >= first - 0.05) & (beats <= last + 0.05)
    down_inside = (downs >= first - 0.05) & (downs <= last + 0.05)
    bpm = float(60 / np.median(np.diff(beats[inside]))) if inside.sum() > 2 else 0.0
    truth = Truth(path.stem, package, licence, beats[inside].round(5).tolist(), downs[down_inside].round(5).tolist(),
                  int(np.bincount(meters).argmax()), round(bpm, 2), round(float(first), 4), round(end, 4),
                  drums=any(channel == 9 for _, channel, _ in notes),
                  tempo_changes=len({u for _, u in tempos[1:]}) - 1 if len(tempos) > 1 else 0,
                  meters=tuple(sorted(set(meters))))
    truth.bars_trusted = _bars_in_the_notes(notes, np.array(beat_ticks), np.array(down_ticks))
    return truth


def _bars_in_the_notes(notes, beat_ticks: np.ndarray, down_ticks: np.ndarray) -> bool:
    """The downbeat carries (within ``BAR_CHECK_SHARE``) the most low-note starts of any beat
    of the bar (kick drum, bass, chord roots): in 4/4 beat 3 often carries as many."""
    if down_ticks.size < 4:
        return False
    low = np.array([t for t, channel, note in notes if (channel == 9 and note in (35, 36)) or
                    (channel != 9 and note < 52)], dtype=float)
    if low.size < 8:
        return False
    beat = np.searchsorted(beat_ticks, low, side="right") - 1
    near = (beat >= 0) & (np.abs(low - beat_ticks[np.maximum(beat, 0)]) < 1)
    position = np.searchsorted(down_ticks, beat_ticks[beat[near]], side="right") - 1
    index_in_bar = np.searchsorted(beat_ticks, beat_ticks[beat[near]]) - np.searchsorted(beat_ticks, down_ticks[position])
    counts = np.bincount(index_in_bar.astype(int), minlength=2)
    return bool(counts[0] >= BAR_CHECK_SHARE * counts.max())


# --- render and check against the audio -------------------------------------------------
def unpack(package: str) -> Path:
    if package.startswith(RESERVED):
        raise SystemExit(f"{package} is reserved for independent checks")
    folder = CACHE / "packages" / package
    if not folder.exists():
        folder.mkdir(parents=True)
        subprocess.run(["apt-get", "download", "-q", package], cwd=folder, check=True, capture_output=True)
        deb = next(folder.glob("*.deb"))
        subprocess.run(["dpkg", "-x", str(deb), str(folder / "root")], check=True)
        deb.unlink()
    return folder / "root"


def render(midi: Path) -> Path:
    out = CACHE / "audio" / f"{midi.stem}.wav"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        part = out.with_suffix(".part.wav")
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(RATE), "-F", str(part),
                        str(SOUNDFONT), str(midi)], check=True, capture_output=True)
        part.rename(out)
    return out


def onset_strength(mono: np.ndarray, rate: int, hop: float = 0.005) -> tuple[np.ndarray, float]:
    """Log-magnitude spectral flux at ``hop`` seconds, for checking a grid (not ScoreFit's)."""
    step = int(rate * hop)
    n = 2048
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(mono, (n // 2, n)), n)[::step]
    out = []
    for block in range(0, frames.shape[0], 4096):
        spectrum = np.abs(np.fft.rfft(frames[block:block + 4096] * np.hanning(n), axis=1))
        out.append(np.log1p(100 * spectrum))
    log = np.concatenate(out)
    flux = np.maximum(0, np.diff(log, axis=0, prepend=log[:1])).sum(axis=1)
    return flux, hop


def alignment_lag(mono: np.ndarray, rate: int, beats: np.ndarray) -> float:
    """Seconds by which the audio's onsets peak after the grid's beats."""
    flux, hop = onset_strength(mono, rate)
    lags = np.arange(-0.15, 0.1501, hop)
    index = np.rint((beats[None, :] + lags[:, None]) / hop).astype(int)
    valid = (index >= 0) & (index < flux.size)
    score = np.where(valid, flux[np.clip(index, 0, flux.size - 1)], 0).sum(axis=1)
    return float(lags[int(np.argmax(score))])


def corpus(verbose: bool = True) -> list[tuple[Truth, Path]]:
    """Every track that passes its checks, as (truth, rendered WAV); cached."""
    index = CACHE / "corpus.json"
    if index.exists():
        rows = json.loads(index.read_text())
        return [(Truth(**{**row["truth"], "meters": tuple(row["truth"]["meters"])}), Path(row["wav"])) for row in rows]
    import soundfile
    rows, out = [], []
    for package, licence, inside in PACKAGES:
        for midi in sorted((unpack(package) / inside).glob("*.mid")):
            try:
                truth = midi_truth(midi, package, licence)
            except Exception as error:          # a file mido cannot read is left out, and said
                print(f"  {midi.name}: unreadable ({error})")
                continue
            if truth is None or len(truth.beats) < 32 or truth.last_note > LONGEST:
                continue
            wav = render(midi)
            samples, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
            truth.lag_ms = round(1000 * alignment_lag(samples.mean(axis=1), rate, np.array(truth.beats)), 1)
            verdict = "ok" if abs(truth.lag_ms) <= 1000 * MAX_LAG else "left out: grid off its audio"
            if verbose:
                print(f"  {truth.name:34} {truth.bpm:6.1f} BPM {truth.meter}/x lag {truth.lag_ms:+5.1f} ms "
                      f"bars {'ok' if truth.bars_trusted else 'unverified'} drums {truth.drums}: {verdict}")
            if verdict == "ok":
                rows.append({"truth": asdict(truth), "wav": str(wav)})
                out.append((truth, wav))
    index.write_text(json.dumps(rows))
    return out


# --- the judge -----------------------------------------------------------------------------
def f_measure(estimate: np.ndarray, reference: np.ndarray, window: float = 0.070) -> float:
    """Beat F-measure: each reference beat matched at most once within ``window`` seconds."""
    if estimate.size == 0 or reference.size == 0:
        return 0.0
    estimate = np.sort(estimate)
    used = np.zeros(estimate.size, bool)
    hits = 0
    for t in reference:
        i = np.searchsorted(estimate, t)
        for j in (i - 1, i):
            if 0 <= j < estimate.size and not used[j] and abs(estimate[j] - t) <= window:
                used[j] = True
                hits += 1
                break
    precision, recall = hits / estimate.size, hits / reference.size
    return 2 * precision * recall / (precision + recall) if hits else 0.0


def beat_error(estimate: np.ndarray, truth: Truth) -> str:
    """What a beat grid got: right, or which metrical mistake (judged by F >= 0.8)."""
    beats = np.array(truth.beats)
    if f_measure(estimate, beats) >= 0.8:
        return "right"
    half = (beats[:-1] + beats[1:]) / 2
    variants = {"half tempo": beats[::2], "half tempo, other phase": beats[1::2],
                "double tempo": np.sort(np.concatenate([beats, half])), "off-beat": half}
    for thirds in (3, 2):
        fine = np.interp(np.arange(0, beats.size - 1, 1 / thirds), np.arange(beats.size), beats)
        variants[f"{thirds}:{'2' if thirds == 3 else '3'} tempo"] = fine[::2] if thirds == 3 else fine[::3]
    best = max(variants, key=lambda k: f_measure(estimate, variants[k]))
    return best if f_measure(estimate, variants[best]) >= 0.8 else "other"


def position_on(t: float, grid: np.ndarray) -> float:
    """``t`` in units of the grid (beats or bars), interpolated; extrapolated at the ends."""
    k = np.arange(grid.size)
    if t <= grid[0]:
        return float((t - grid[0]) / (grid[1] - grid[0]))
    if t >= grid[-1]:
        return float(k[-1] + (t - grid[-1]) / (grid[-1] - grid[-2]))
    return float(np.interp(t, grid, k))


def judge_join(source_from: float, source_to: float, truth: Truth, tolerance: float = 0.035) -> dict:
    """A jump from ``source_from`` to ``source_to`` on the true grid: by how much it breaks
    the beat (ms off a whole number of beats), and whether it keeps whole bars and cuts on
    true downbeats."""
    beats, downs = np.array(truth.beats), np.array(truth.downbeats)
    jump = position_on(source_to, beats) - position_on(source_from, beats)
    period = float(np.median(np.diff(beats)))
    off_ms = 1000 * abs(jump - round(jump)) * period
    bar_jump = position_on(source_to, downs) - position_on(source_from, downs)
    bar_seconds = period * truth.meter
    whole_bars = abs(bar_jump - round(bar_jump)) * bar_seconds <= tolerance
    on_down = all(np.min(np.abs(downs - t)) <= tolerance for t in (source_from, source_to))
    return {"off_ms": round(off_ms, 1), "breaks_beat": off_ms > 1000 * tolerance,
            "whole_bars": bool(whole_bars and truth.bars_trusted), "on_downbeats": bool(on_down),
            "bars_trusted": truth.bars_trusted}


if __name__ == "__main__":
    tracks = corpus()
    print(f"{len(tracks)} tracks with a grid checked against their audio; "
          f"{sum(t.bars_trusted for t, _ in tracks)} with bar lines checked against their notes")
