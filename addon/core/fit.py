"""Fit music to the cut: exactly ``target`` samples long, cut the way a music editor cuts.

How (the README's "How the fit works" says the same for editors):
1. Analyse: one beat grid for the whole track, bars, 4-bar phrases, and per-bar harmony,
   timbre and loudness (``analysis``); how the music ends (``ending``).
2. Search: the output is the opening, then whole bars in order with jumps forward, then
   the real ending. A dynamic programme over bar counts finds the cheapest path of the
   right length, where a jump costs how much the harmony, timbre and loudness around it
   differ from what would have followed (in units of the track's own median bar-to-bar
   change), plus penalties for leaving the 4-bar phrase grid, for cutting where the bar
   line is a guess, and for each jump. Jumps go from bar line to bar line, so the beat
   and the bar carry on across them; and since a bar line can be wrong, every jump is
   also checked on the onsets themselves (``beat_slip``): one whose rhythm recurs only
   off the beat is chosen only where no jump keeps it.
3. Land the ending, back-timed: the whole ending, to where a listener hears it end
   (``EndingOptions.audible_below_loud_db``), ends on the last sample. What
   whole bars leave over (less than a bar) is taken at the start (``_landing``): the
   file's own silent lead-in skipped, a breath of silence before the music comes in, or,
   rather than seconds of silence, the song entered before its second bar line (in its
   first bar, or in a pickup before it), faded in up to a beat, so the music is heard
   from the first frame.
4. Render: each join crossfades for as long as the incoming bar allows (short before an
   attack, longer into sustained sound), lines up the two attacks to the sample, and
   matches levels, easing back to the music's own level over two bars.
A cut of two phrases or less, or too short for the opening and the whole ending (a sting,
a short cutdown), is the song's own last seconds, back-timed the same way and faded in up
to its first bar line.
Music that runs on (no ending) fades over a phrase from a bar line; music with no clear
beat joins at its most similar moment with a long crossfade, or fades over 6 s.
Music shorter than the cut is an error: the pipeline extends it; nothing pads silence.
"""
from __future__ import annotations

from .errors import ScoreFitError

from dataclasses import asdict, dataclass, field, replace
from typing import NamedTuple

import numpy as np

from .analysis import Analysis, AnalysisError, AnalysisOptions, analyse, bar_features
from .audio import Audio, conform
from . import loudness
from .ending import Ending, EndingOptions, find_ending, start_of_sound


@dataclass(frozen=True)
class FitOptions:
    """Every tuned number of the fit, with its unit and why; costs are in units of the
    track's own median bar-to-bar change. The defaults are what the benches measured;
    ``bench/fit_ground_truth.py`` sweeps copies (``dataclasses.replace``), never the code."""
    analysis: AnalysisOptions = AnalysisOptions()
    ending: EndingOptions = EndingOptions()
    jump_cost: float = 0.6                # per jump, in median bar-to-bar changes: fewer jumps are better
    off_phrase_cost: float = 0.5          # a jump that leaves the 4-bar phrase grid
    mid_phrase_cost: float = 0.25         # a jump that lands inside a phrase rather than at its start
    level_cost_db: float = 3.0            # a level step of this many dB costs as much as a typical bar change
    doubt_cost: float = 1.5               # per side of a jump whose bar line the music marks only weakly
    phase_doubt: float = 1.0              # per side, where the bars around disagree on the bar phase
    phase_sure: float = 1.0               # a phase margin (robust z) at which a bar line is sure
    short_cut_bars: int = 8               # a cut this many bars long or less is a cutdown of the ending
    opening_bars: int = 2                 # bars kept before the first jump (with any pickup)
    attack_lead: float = 0.010            # seconds: a cut starts this far before the steepest rise
    short_crossfade: float = 0.012        # seconds, into a clear attack
    long_crossfade: float = 0.12          # seconds, into sustained sound
    level_match_limit_db: float = 6.0     # dB, the most a join's level is matched by
    no_pulse_crossfade: float = 1.5       # s, a join in music with no beat crossfades this long
    no_pulse_fade: float = 6.0            # s, music with no beat fades over at most this
    fade_seconds: tuple = (4.0, 12.0)     # a run-on fade lasts between these, over whole bars
    fade_share: tuple = (0.25, 0.6)       # and, in a short cut, between these shares of it
    ideal_fade: tuple = (8.0, 0.4)        # seconds, or this share of a short cut
    declick: float = 0.005                # seconds: a cut edge inside sound is ramped over this
    end_ramp: float = 0.03                # seconds: the last frame closes over this; what it fades lies past the
                                          # audible end (EndingOptions.audible_below_loud_db down), so it moves no ending
    end_tolerance: float = 0.040          # seconds: the ending lands within a frame at 24 fps
    late_start_cost: float = 4.0          # a second of silence before the music costs four typical bar changes:
                                          # a quarter second of it at the top of a video is already heard as a gap
    entry_cost: tuple = (0.25, 0.1)       # entering the song before its second bar line: a fixed cost, and per bar
                                          # left out; so a late start of more than about 0.15 s enters instead
    beat_slip_cost: float = 6.0           # a join whose rhythm recurs off the beat: more than any change of
                                          # harmony or level, so it is chosen only where no join keeps the beat
    slip_sure: float = 0.25               # the share of rhythm match lost on the beat at which a join surely slips
    slip_window_beats: float = 2.0        # beats of onsets either side of a bar line compared for recurrence
    slip_usual_share: float = 0.6         # of a track's usual bar-to-bar recurrence: a pair that matches less at
                                          # any shift has no common beat (another section's pattern matches more)
    slip_tolerance: float = 0.020         # seconds: a recurrence this close to the bar line keeps the beat
    late_ending_cost: float = 10.0        # an ending cut short: the promise is that it lands whole


class FitError(ScoreFitError, ValueError):
    """The music cannot be fitted to this cut; the message says why."""


@dataclass(frozen=True)
class Join:
    output_seconds: float       # where the join is heard in the output
    source_from: float          # the source time the music leaves
    source_to: float            # the source time it resumes from
    bar_from: int | None        # bar numbers (1-based) either side, when there is a bar grid
    bar_to: int | None
    cost: float                 # 0 = seamless; 1 = as different as a typical bar-to-bar change
    crossfade_ms: float
    gain_db: float              # level matching applied to the incoming music


@dataclass(frozen=True)
class FitReport:
    method: str                 # whole | bars | ending | fade | join | fade-no-beat
    target_samples: int
    source_samples: int
    sample_rate: int
    bpm: float | None
    meter: int | None
    meter_confidence: float
    beat_confidence: float
    ending: str                 # ring-out | hard stop | fade-out | none
    ending_kept: bool
    ending_error_ms: float | None    # the music's end vs the last sample: < 0 silence follows it,
                                     # > 0 the output stops before it (None: no ending kept)
    ending_trimmed_ms: float    # how much of the ending's decay was faded sooner
    joins: tuple = ()
    fade_seconds: float = 0.0
    quality: str = ""           # plain words for the hosts to show
    late_start_ms: float = 0.0  # silence before the music comes in, so that its ending lands
    opening_cut_ms: float = 0.0  # how much of the song's opening (past any silent lead-in) is
                                 # left out instead, so that the music is heard from the first frame
    bars: tuple = ()            # output seconds of each bar line heard (for markers to snap to)
    phrases: tuple = ()         # output seconds of each 4-bar phrase start
    fade_in_seconds: float = 0.0     # the head fades in: a cutdown up to its first bar line, an
                                     # opening entered part-way up to its next beat

    loudness: dict | None = None     # what levelling to a delivery loudness did (loudness.Levelled)
    ducking: dict | None = None      # where the music was lowered under dialogue, and its keyframes

    def to_dict(self) -> dict:
        return asdict(self)


def levelled(music: Audio, report: FitReport, target: float | None) -> tuple[Audio, FitReport]:
    """The fitted music at a delivery loudness (``target`` LUFS; None leaves it as made),
    true peak at most -1 dBTP, and its report saying what was measured before and after."""
    if target is None:
        return music, report
    out, level = loudness.to_target(music, target)
    said = f"{level.after_lufs:.1f} LUFS, true peak {level.after_dbtp:.1f} dBTP" + (" (limited)" if level.limited else "")
    return out, replace(report, loudness=level.to_dict(), quality=f"{report.quality}; {said}")


def ducked(music: Audio, report: FitReport, voices: tuple) -> tuple[Audio, FitReport]:
    """The fitted music lowered under the dialogue in ``voices`` (audio files that start with
    the cut); the report gets the speech found and the gain keyframes."""
    if not voices:
        return music, report
    from .audio import load
    from .ducking import duck
    out, info = duck(music, [load(path) for path in voices])
    stretches = len(info["speech"])
    said = f"ducked {info['depth_db']:g} dB under {stretches} stretch{'es' if stretches != 1 else ''} of dialogue"
    return out, replace(report, ducking=info, quality=f"{report.quality}; {said}")


@dataclass
class _Piece:
    start: int                  # source samples
    end: int


@dataclass
class _Plan:
    pieces: list
    joins: list = field(default_factory=list)        # (cost, bar_from, bar_to) per join
    fade: int = 0               # samples faded at the end
    fade_in: int = 0            # samples faded in at the start
    method: str = "bars"
    error: int | None = 0       # the ending's landing error where the plan decides it (bars: the render)
    ending_kept: bool = True
    opening_cut: int = 0        # samples of the opening left out past the silent lead-in


class _Rendered(NamedTuple):
    audio: Audio
    joins: list                 # what each join did
    pieces: list                # the source pieces as finally cut
    delay: int                  # samples of silence before the music comes in
    opening_cut: int            # samples of the song's opening (past its silent lead-in) left out
    error: int | None           # the ending's landing error, signed as in _landing


# --- the public entry ---------------------------------------------------------
def fit(source: Audio, target_samples: int, sample_rate: int = 48000,
        options: FitOptions = FitOptions()) -> tuple[Audio, FitReport]:
    """Music exactly ``target_samples`` long, cut on its bars, with its real ending.

    Parameters
    ----------
    source : Audio
        The music, at least as long as the cut, at any rate.
    target_samples : int
        The cut's length in samples at ``sample_rate``.
    sample_rate : int
        The output's rate.
    options : FitOptions
        The tuned numbers of the analysis, the ending and the search (the defaults are the
        measured ones).

    Returns
    -------
    (Audio, FitReport)
        The fitted music and what was done, in numbers and in plain words.

    Raises
    ------
    FitError
        The cut is empty, the music is shorter than it, or silent.
    """
    if target_samples <= 0:
        raise FitError("the timeline is empty")
    music = conform(source, sample_rate)
    total = music.frames
    if total < target_samples:
        raise FitError(f"the music ({total / sample_rate:.2f} s) is shorter than the timeline "
                       f"({target_samples / sample_rate:.2f} s), and ScoreFit never pads music with silence: "
                       "choose longer music or a shorter cut (a generated soundtrack is extended until it "
                       "covers the cut)")
    try:
        analysis = analyse(music, options.analysis)
    except AnalysisError as error:
        raise FitError(str(error)) from None
    ending = find_ending(analysis, options.ending)
    plan = _choose(music, analysis, ending, target_samples, options)
    rendered = _render(music, analysis, plan, target_samples, options)
    return rendered.audio, _report(plan, rendered, analysis, ending, target_samples, total, sample_rate, options)


def _grid(analysis: Analysis, pieces: list, delay: int, target: int, rate: int) -> dict:
    """The bar lines and phrase starts as heard in the output: the source's own, carried
    through each kept piece (a fade or a silence has none)."""
    if not analysis.pulse:
        return {}
    bars, phrases = [], []
    downbeats = np.rint(analysis.downbeats * rate).astype(np.int64)
    phrase = (np.arange(downbeats.size) - analysis.phrase_offset) % 4 == 0
    position = delay
    edge = int(0.02 * rate)     # a join starts just before its downbeat's attack
    for piece in pieces:
        inside = (downbeats >= piece.start - edge) & (downbeats < piece.end - edge)
        at = np.maximum(0, position + downbeats[inside] - piece.start) / rate
        bars.extend(at.tolist())
        phrases.extend(at[phrase[inside]].tolist())
        position += piece.end - piece.start
    limit = target / rate
    return {"bars": tuple(round(t, 4) for t in bars if t < limit),
            "phrases": tuple(round(t, 4) for t in phrases if t < limit)}


def _choose(music: Audio, analysis: Analysis, ending: Ending, target: int, o: FitOptions) -> _Plan:
    rate = music.rate
    end_sample = int(round(ending.end_of_sound * rate))
    if target >= end_sample:
        # The whole song fits (the file is never shorter than the cut): kept untouched, with
        # the file's own silence after its end.
        return _Plan([_Piece(0, target)], method="whole", error=end_sample - target,
                     ending_kept=ending.has_ending)
    if analysis.pulse and analysis.downbeat_index.size >= 4:
        if ending.has_ending:
            # In two phrases or less, the opening's two bars and a jump leave little of either:
            # the song's own last bars, with no join and no silence first, make the better cue.
            short = target <= o.short_cut_bars * np.median(np.diff(analysis.downbeats)) * rate
            cutdown = _ending_cutdown(analysis, ending, target, rate, o)
            plan = cutdown if short and cutdown else _bar_path(music, analysis, ending, target, o) or cutdown
            if plan is not None:
                return plan
        return _phrase_fade(analysis, target, rate, o)
    if ending.has_ending:
        plan = _similar_join(music, analysis, ending, target, o) or _ending_cutdown(analysis, ending, target, rate, o)
        if plan is not None:
            return plan
    # As over bars: a short cut is heard at its own level before it fades.
    fade = min(target, int(min(o.no_pulse_fade, o.ideal_fade[1] * target / rate) * rate))
    return _Plan([_Piece(0, target)], fade=fade, method="fade-no-beat", error=None, ending_kept=False)


# --- the bar path ------------------------------------------------------------------
def _jump_costs(analysis: Analysis, o: FitOptions) -> tuple[np.ndarray, np.ndarray]:
    """(cost, heard)[a, j]: leave after bar a, resume at the start of bar j (j > a + 1).
    ``heard`` is what the listener hears change (harmony, timbre, level: the report's join
    cost); ``cost`` adds what the search also weighs (phrases, how sure the bar lines are)."""
    f = bar_features(analysis)

    def cosine(x, y):
        x = x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-9)
        y = y / (np.linalg.norm(y, axis=-1, keepdims=True) + 1e-9)
        return 1 - x @ y.T

    def euclid(x, y):
        return np.sqrt(np.maximum(0, (x ** 2).sum(1)[:, None] + (y ** 2).sum(1)[None, :] - 2 * x @ y.T)
                       / x.shape[1])

    bars = f["chroma"].shape[0]
    # What the listener hears vs what would have come: bar a's end against bar j-1's end
    # (the lead-in), and bar a+1's start against bar j's start (the arrival).
    lead_h = cosine(f["last_chroma"], f["last_chroma"])
    lead_t = euclid(f["last_timbre"], f["last_timbre"])
    arrive_h = cosine(f["first_chroma"], f["first_chroma"])
    arrive_t = euclid(f["first_timbre"], f["first_timbre"])
    nxt = np.minimum(np.arange(bars) + 1, bars - 1)
    prv = np.maximum(np.arange(bars) - 1, 0)
    harmony = lead_h[:, prv] + arrive_h[nxt, :]
    timbre = lead_t[:, prv] + arrive_t[nxt, :]
    level = np.abs(f["last_loudness"][:, None] - f["first_loudness"][None, :])
    # The track's own bar-to-bar change is the unit.
    step_h = np.median(np.diag(cosine(f["chroma"][:-1], f["chroma"][1:]))) + 1e-3
    step_t = np.median(np.diag(euclid(f["timbre"][:-1], f["timbre"][1:]))) + 1e-3
    # harmony and timbre each sum two sides: their mean over both, weighted equally.
    heard = (harmony / step_h + timbre / step_t) / 4 + level / o.level_cost_db
    # A jump that stumbles off the beat is the worst thing a join can do, and the bar lines
    # cannot tell (a grid at a wrong tempo ratio puts them between beats): the onsets say.
    heard += o.beat_slip_cost * np.clip(beat_slip(analysis, o)[nxt, :] / o.slip_sure, 0.0, 1.0)
    cost = heard.copy()
    phase = (np.arange(bars) - analysis.phrase_offset) % 4
    cost += np.where(phase[nxt][:, None] != phase[None, :], o.off_phrase_cost, 0.0)
    cost += np.where(phase[None, :] != 0, o.mid_phrase_cost, 0.0)
    # Cut where the music itself marks the bar line (a chord change, a hit): there the
    # downbeat is surest, and a cut there is what a music editor would choose.
    strength = analysis.downbeat_evidence[analysis.downbeat_index]
    doubt = np.clip(1.0 - strength / 2.0, 0.0, 1.0)
    # And where the bars around it agree on the phase: there the bar line is no guess.
    margin = analysis.phase_margin[analysis.downbeat_index]
    doubt = doubt + o.phase_doubt * np.clip(1.0 - margin / o.phase_sure, 0.0, 1.0)
    cost += o.doubt_cost * (doubt[nxt][:, None] + doubt[None, :])
    a, j = np.meshgrid(np.arange(bars), np.arange(bars), indexing="ij")
    cost[j <= a + 1] = np.inf
    cost[a < o.opening_bars - 1] = np.inf
    return cost, heard


def beat_slip(analysis: Analysis, o: FitOptions = FitOptions()) -> np.ndarray:
    """How much a jump between two bar lines would stumble off the beat, Remix-style.

    Parameters
    ----------
    analysis : Analysis
        With a pulse: its downbeats and onset novelty are used.
    o : FitOptions
        ``slip_window_beats``, ``slip_tolerance`` and ``slip_usual_share`` are used.

    Returns
    -------
    numpy.ndarray
        ``slip[p, q]`` in 0..1 for a jump from bar line ``p`` to bar line ``q``: the onsets
        around ``q`` (``o.slip_window_beats`` either side) are matched against those around
        ``p`` shifted by up to half a beat; 0 where they match best unshifted (within
        ``o.slip_tolerance``), towards 1 where the rhythm recurs only off the bar line, so
        that jump would shift the beat, or recurs far less than the track's bars usually do
        (a tempo change lies between them).
    """
    frames = analysis.frames
    spf = frames.seconds_per_frame
    beat = analysis.beat_seconds or 0.5
    half = max(2, int(round(o.slip_window_beats * beat / spf)))
    reach = max(2, int(round(beat / 2 / spf)))
    keep = max(1, int(round(o.slip_tolerance / spf)))
    pad = half + reach
    envelope = np.concatenate([np.zeros(pad, np.float32), frames.novelty.astype(np.float32),
                               np.zeros(pad, np.float32)])
    windows = np.lib.stride_tricks.sliding_window_view(envelope, 2 * half)
    first = np.clip(np.rint(analysis.downbeats / spf).astype(np.int64), 0, frames.novelty.size) + pad - half
    around = windows[first]                                                # (bars, 2 * half)
    shifted = windows[first[:, None] + np.arange(-reach, reach + 1)[None, :]]  # (bars, shifts, 2 * half)
    around = around / (np.linalg.norm(around, axis=1, keepdims=True) + 1e-9)
    shifted = shifted / (np.linalg.norm(shifted, axis=2, keepdims=True) + 1e-9)
    bars, shifts = shifted.shape[:2]
    match = (shifted.reshape(bars * shifts, -1) @ around.T).reshape(bars, shifts, bars).transpose(0, 2, 1)
    # Against the best shift, or against how well this track's bars usually recur where no
    # shift matches (the tempo differs either side: no jump between them keeps the beat).
    best = np.maximum(match.max(axis=2), o.slip_usual_share * np.median(match.max(axis=2)))
    on_beat = match[:, :, reach - keep:reach + keep + 1].max(axis=2)
    return np.clip(1.0 - on_beat / np.maximum(best, 1e-9), 0.0, 1.0)


def _bar_path(music: Audio, analysis: Analysis, ending: Ending, target: int, o: FitOptions) -> _Plan | None:
    rate = music.rate
    downbeats = analysis.downbeats
    bars = downbeats.size
    starts = np.rint(downbeats * rate).astype(np.int64)
    bar_len = np.diff(starts)
    mean_bar = float(np.median(bar_len))
    end_sample = int(round(ending.end_of_sound * rate))
    landmark = ending.landmark * rate
    # The ending starts on a bar line at or before the final hit (or the fade), up to 8 bars early.
    candidates = [e for e in range(1, bars) if starts[e] <= landmark + 0.05 * rate
                  and landmark - starts[e] <= 8 * mean_bar]
    if not candidates:
        return None
    costs, heard = _jump_costs(analysis, o)
    jump = costs[:bars - 1, :bars] + o.jump_cost
    pickup = int(starts[0])
    lead = min(int(start_of_sound(analysis, o.ending) * rate), pickup)
    # The start may move into the music up to bar 1's downbeat (faded in to it): entering
    # late in bar 0 beats coming in late, which every listener hears as a gap.
    beats = np.rint(analysis.beats * rate).astype(np.int64)
    beat = int(round((analysis.beat_seconds or 0.5) * rate))
    reach = max(lead, int(starts[1]) - int(o.declick * rate))
    # Bars differ in length (a half-time section, a held chord, drift): no path longer than
    # the shortest bars can fill is ever short enough, so the search stops there.
    longest_body = target - pickup + reach + int(ending.trimmable * rate)
    most = int(np.searchsorted(np.cumsum(np.sort(bar_len)), longest_body, side="right")) + 1
    search = _BarSearch(jump, bar_len, max(candidates), min(most, max(candidates)))
    best = None
    for e in candidates:
        tail = end_sample - int(starts[e])
        if target - pickup - tail < o.opening_bars * mean_bar * 0.9:
            # No room for the opening and this ending whole: cutting seconds off its decay
            # is no ending (a 10 s cut of a song with a 15 s ring-out fades instead).
            continue
        # An ending that starts less than a bar before its final hit loses its cadence;
        # one that starts with a phrase sounds like the composer's.
        cadence = 0.0 if landmark - starts[e] >= mean_bar * 0.9 else 0.4
        mid_phrase = 0.0 if (e - analysis.phrase_offset) % 4 == 0 else 0.15
        cost, length = search.into(jump, e)
        # Every path's real length is known, so each is judged by how it lands.
        landing, trimmed, skip = _landing(pickup + length + tail - target, ending, rate, mean_bar, lead,
                                          reach, o)
        total = cost + landing + cadence + mid_phrase
        total[:o.opening_bars - 1] = np.inf
        n, last = np.unravel_index(int(np.argmin(total)), total.shape)
        if np.isfinite(total[n, last]) and (best is None or total[n, last] < best[0]):
            best = (float(total[n, last]), search.path(n + 1, last), e, int(trimmed[n, last]), int(skip[n, last]))
    if best is None:
        return None         # no whole bars land the ending: the caller fades instead
    _, path, e, trimmed, skip = best
    fade_in = 0
    if skip > lead:
        # Entered part-way into the opening: fade in up to the next beat, so the music arrives on it.
        after = beats[beats > skip]
        fade_in = max(int(o.declick * rate), min(int(after[0]) - skip if after.size else 0, beat))
    # A decay cut short dies away over what is left of it rather than stopping.
    remaining = ending.tail * rate - trimmed
    fade = int(min(remaining, max(0.2 * rate, 0.6 * remaining))) if trimmed > o.end_tolerance * rate else 0
    pieces, joins = [], []
    piece_start = skip
    for previous, bar in zip(path, path[1:] + [e]):
        if bar != previous + 1:
            pieces.append(_Piece(piece_start, int(starts[previous + 1])))
            joins.append((float(heard[previous, bar]), previous + 1, bar + 1))
            piece_start = int(starts[bar])
    pieces.append(_Piece(piece_start, end_sample))
    # The render measures the cut as made: how late the music comes in, how the ending lands.
    return _Plan(pieces, joins, fade=max(0, fade), fade_in=fade_in, method="bars", error=None,
                 opening_cut=max(0, skip - lead))


class _BarSearch:
    """Cheapest bar sequences from bar 0, by length in bars, computed once for every ending.

    ``cost[n][a]`` is the cheapest way to play ``n`` bars ending with bar ``a`` and
    ``length[n][a]`` that path's length in samples; bars only go forward, so a path that ends
    at ``a`` never touches a bar after it, and the same table serves every choice of where
    the ending starts.
    """

    def __init__(self, jump: np.ndarray, bar_len: np.ndarray, bars: int, most: int):
        inf = np.inf
        cost = np.full(bars, inf)
        cost[0] = 0.0
        length = np.zeros(bars, dtype=np.int64)
        length[0] = bar_len[0]
        costs, lengths = [cost], [length]
        self.back = np.zeros((max(most, 1) + 1, bars), dtype=np.int32)
        sub = jump[:bars, :bars]
        own = bar_len[:bars]
        index = np.arange(bars)
        for n in range(2, most + 1):
            via_jump = cost[:, None] + sub
            from_jump = np.argmin(via_jump, axis=0)
            jump_cost = via_jump[from_jump, index]
            stay = np.concatenate([[inf], cost[:-1]])
            straight = stay <= jump_cost
            self.back[n] = np.where(straight, index - 1, from_jump)
            length = np.where(straight, np.concatenate([[0], length[:-1]]), length[from_jump]) + own
            cost = np.minimum(stay, jump_cost)
            costs.append(cost)
            lengths.append(length)
        self.cost = np.array(costs)         # row n - 1: paths of n bars
        self.length = np.array(lengths)

    def into(self, jump: np.ndarray, ending_bar: int) -> tuple[np.ndarray, np.ndarray]:
        """(cost, length)[n - 1, last]: ``n`` bars ending with bar ``last``, then into the ending:
        straight on from the bar before it, or a jump into it."""
        cost = self.cost[:, :ending_bar] + jump[:ending_bar, ending_bar]
        cost[:, ending_bar - 1] = self.cost[:, ending_bar - 1]
        return cost, self.length[:, :ending_bar]

    def path(self, n: int, last: int) -> list[int]:
        path = [int(last)]
        for k in range(n, 1, -1):
            path.append(int(self.back[k, path[-1]]))
        return path[::-1]


def _landing(residual, ending: Ending, rate: int, bar: float, lead: int, reach: int | None = None,
             o: FitOptions = FitOptions()):
    """(cost, samples trimmed off the ending's decay, samples skipped at the start) for
    paths ``residual`` samples longer than the cut (a number or an array of them).

    Back-timed, as a music editor times a cue to the picture's end: the ending lands whole
    on the last frame and the start gives way. A path shorter than the cut comes in later
    (silence first: the render fills it). One longer skips the file's own silent lead-in
    (``lead`` samples), then, up to ``reach`` samples from the file's start, enters the
    song within its opening: so a path one bar longer that enters the song mid-bar
    competes with a late start, and wins where the silence would last more than a breath.
    Only what none of these absorbs comes off the ending's decay: within a frame that is
    nothing; beyond, it breaks the promise and costs most. A path that would come in more
    than a bar late, or cut into the ending itself, cannot land: its cost is infinite."""
    residual = np.asarray(residual, dtype=np.int64)
    late = np.maximum(-residual, 0)
    skip = np.clip(residual, 0, lead)
    rest = np.maximum(residual - skip, 0)
    within_frame = rest <= int(o.end_tolerance * rate)
    enters = ~within_frame & (rest <= max(0, (lead if reach is None else reach) - lead))
    cost = np.select(
        [residual <= 0, within_frame, enters, rest <= int(ending.trimmable * rate)],
        [o.late_start_cost * late / rate, 0.1 * rest / (o.end_tolerance * rate),
         o.entry_cost[0] + o.entry_cost[1] * rest / bar, o.late_ending_cost + rest / (0.5 * bar)],
        np.inf)
    skip = np.where(enters, skip + rest, skip)
    rest = np.where(enters, 0, rest)
    return np.where(late > bar, np.inf, cost), rest, skip


# --- short cuts, run-on music, and music with no beat -----------------------------------
def _ending_cutdown(analysis: Analysis, ending: Ending, target: int, rate: int, o: FitOptions) -> _Plan | None:
    """A cut of two phrases or less, or no room for the opening and the whole ending (a
    sting, a short cutdown): the song's own last ``target`` samples, so its ending lands
    whole on the last sample and the cut is full from its first frame. What comes before
    the first bar line (less than a bar) fades in, so the music arrives on a downbeat.
    None when even the ending alone is longer than the cut."""
    end_sample = int(round(ending.end_of_sound * rate))
    landmark = int(round(ending.landmark * rate))
    start = end_sample - target
    if start < 0 or start > landmark:
        return None
    if analysis.pulse:
        bar_lines = np.rint(analysis.downbeats * rate).astype(np.int64)
        after = bar_lines[(bar_lines >= start) & (bar_lines <= landmark)]
        arrival = int(after[0]) if after.size else landmark
    else:
        arrival = min(landmark, start + int(o.no_pulse_crossfade * rate))
    fade_in = max(arrival - start, int(o.declick * rate))
    return _Plan([_Piece(start, end_sample)], method="ending", fade_in=fade_in, error=0)


def _phrase_fade(analysis: Analysis, target: int, rate: int, o: FitOptions) -> _Plan:
    """Fade over whole bars (a phrase where possible), starting on a bar line. In a short
    cut the fade takes a share of it, so the music is heard at its own level first."""
    target_s = target / rate
    shortest = min(o.fade_seconds[0], o.fade_share[0] * target_s)
    longest = min(o.fade_seconds[1], o.fade_share[1] * target_s)
    ideal = min(o.ideal_fade[0], o.ideal_fade[1] * target_s)
    best = None
    for bar, start in enumerate(analysis.downbeats):
        length = target_s - start
        if not shortest <= length <= longest:
            continue
        score = abs(length - ideal) / ideal + (0 if (bar - analysis.phrase_offset) % 4 == 0 else 0.5)
        if best is None or score < best[0]:
            best = (score, start)
    start = best[1] if best else max(0.0, target_s - ideal)
    fade = target - int(round(start * rate))
    return _Plan([_Piece(0, target)], fade=fade, method="fade", error=None, ending_kept=False)


def _similar_join(music: Audio, analysis: Analysis, ending: Ending, target: int, o: FitOptions) -> _Plan | None:
    """No beat: join into the ending where the sound is most alike, with a long crossfade."""
    rate = music.rate
    frames = analysis.frames
    end_sample = int(round(ending.end_of_sound * rate))
    reduction = end_sample - target
    spt = frames.seconds_per_tonal
    chroma, timbre = frames.chroma, frames.timbre
    n = chroma.shape[0]
    shift = int(round(reduction / rate / spt))
    first = int(max(o.no_pulse_crossfade * 2, 4.0) / spt)
    last = min(n - shift, int((ending.landmark - 1.0) / spt) - shift)
    if shift <= 0 or last <= first:
        return None
    out_idx = np.arange(first, last)
    in_idx = out_idx + shift
    h = 1 - (chroma[out_idx] * chroma[in_idx]).sum(1) / (
        np.linalg.norm(chroma[out_idx], axis=1) * np.linalg.norm(chroma[in_idx], axis=1) + 1e-9)
    t = np.sqrt(((timbre[out_idx] - timbre[in_idx]) ** 2).mean(1))
    cost = h / (np.median(h) + 1e-6) + t / (np.median(t) + 1e-6)
    pick = int(out_idx[np.argmin(cost)])
    cut = int(round(pick * spt * rate))
    resume = cut + reduction
    return _Plan([_Piece(0, cut), _Piece(resume, end_sample)], [(float(cost.min() / 2), None, None)],
                 method="join")


# --- rendering ---------------------------------------------------------------------
def _mono(src: np.ndarray, lo: int, hi: int) -> np.ndarray:
    lo, hi = max(0, lo), min(src.shape[0], hi)
    return src[lo:hi].mean(axis=1) if hi > lo else np.zeros(0, np.float32)


def _attack(src: np.ndarray, at: int, rate: int, reach: float = 0.02) -> int:
    """The sample where the sharpest attack within ``reach`` seconds of ``at`` begins."""
    lo, hi = max(1, at - int(reach * rate)), min(src.shape[0] - 1, at + int(reach * rate))
    if hi - lo < 64:
        return at
    step = max(1, rate // 2000)                   # 0.5 ms resolution
    high = np.diff(_mono(src, lo - 1, hi))
    energy = np.add.reduceat(high ** 2, np.arange(0, high.size, step))
    rise = np.diff(np.log10(energy + 1e-12))
    return lo + int(np.argmax(rise) + 1) * step


def _rms_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-12)) if samples.size else -120.0


def _render(music: Audio, analysis: Analysis, plan: _Plan, target: int, o: FitOptions) -> _Rendered:
    rate = music.rate
    src = music.samples
    pieces = [_Piece(p.start, p.end) for p in plan.pieces]
    if plan.method == "bars":
        # Line up the attacks either side of each join to the sample.
        for left, right in zip(pieces, pieces[1:]):
            # Energy rises steepest some ms after a note begins: cut where it begins.
            before = int(o.attack_lead * rate)
            left.end = _attack(src, left.end, rate) - before
            right.start = _attack(src, right.start, rate) - before
    length = sum(p.end - p.start for p in pieces)
    opening_cut = plan.opening_cut
    if opening_cut:
        # Entered inside the opening: the start, not the ending, takes up what lining up the
        # attacks moved (a few ms).
        pieces[0].start += length - target
        opening_cut += length - target
        length = target
    if plan.method == "bars":
        # Back-timed: what the bars (and lining up attacks) leave short is silence before the
        # music comes in; what they leave long comes off the ending's decay, and is reported.
        delay, error = max(0, target - length), max(0, length - target)
    else:
        delay, error = 0, plan.error
    # The last piece absorbs any difference left: trimmed off the decay, or the file's own tail.
    pieces[-1].end = min(music.frames, pieces[-1].end + (target - delay - length))
    # Should the file have no more after the ending, silence follows it (the report says how
    # long): a few hundred ms after a song has ended is natural; a stumble inside it is not.
    out = np.zeros((target, src.shape[1]), dtype=np.float32)
    position = delay
    joins = []
    beat = analysis.beat_seconds or 0.5
    for k, piece in enumerate(pieces):
        size = piece.end - piece.start
        out[position:position + size] = src[piece.start:piece.end]
        if k > 0:
            joins.append(_crossfade(out, src, position, piece, pieces[k - 1], rate, beat, plan, o))
        position += size
    if plan.fade_in:
        rise = np.sin(np.linspace(0, np.pi / 2, plan.fade_in, dtype=np.float32)) ** 2
        out[delay:delay + plan.fade_in] *= rise[:, None]
    fade = min(target, plan.fade)
    if fade:
        ramp = np.cos(np.linspace(0, np.pi / 2, fade, dtype=np.float32)) ** 2
        ramp[-1] = 0.0
        out[target - fade:] *= ramp[:, None]
    elif plan.method != "whole":
        # Never end on a click: close the inaudible rest of a ring or fade.
        declick = min(target, int(o.end_ramp * rate))
        out[target - declick:] *= np.linspace(1, 0, declick, dtype=np.float32)[:, None]
    return _Rendered(Audio(out, rate), joins, pieces, delay, opening_cut, error)


def _crossfade(out, src, position, piece, previous, rate, beat, plan, o: FitOptions) -> dict:
    """Mix the outgoing music under the incoming over the join, equal-power, and match level."""
    strength = np.abs(np.diff(_mono(src, piece.start, piece.start + int(0.02 * rate)))).max(initial=0.0)
    sustain = np.abs(np.diff(_mono(src, piece.start - int(0.05 * rate), piece.start))).max(initial=1e-9)
    attack = strength > 2.0 * sustain
    if plan.method == "join":
        seconds = o.no_pulse_crossfade
    else:
        seconds = o.short_crossfade if attack else min(o.long_crossfade, beat / 4)
    length = max(1, min(int(seconds * rate), position, piece.start, previous.end))
    # Level: what was heard in the 2 s before the crossfade against the 2 s that come.
    window = int(2 * rate)
    heard = _rms_db(out[max(0, position - length - window):position - length])
    coming = _rms_db(src[piece.start:piece.start + window])
    gain = float(np.clip(heard - coming, -o.level_match_limit_db, o.level_match_limit_db))
    if abs(gain) < 1.0:
        gain = 0.0
    else:
        # Start at the heard level and ease back to the music's own over two bars.
        ease = min(out.shape[0] - position, int(max(2 * 4 * beat, 2.0) * rate))
        out[position:position + ease] *= (10 ** (np.linspace(gain, 0, ease, dtype=np.float32) / 20))[:, None]
    t = np.linspace(0, np.pi / 2, length, dtype=np.float32)[:, None]
    incoming = src[piece.start - length:piece.start] * np.float32(10 ** (gain / 20))
    out[position - length:position] = src[previous.end - length:previous.end] * np.cos(t) + incoming * np.sin(t)
    return {"output": position, "from": previous.end, "to": piece.start,
            "crossfade_ms": 1000 * length / rate, "gain_db": round(gain, 2)}


def _report(plan, rendered, analysis, ending, target, total, rate, o: FitOptions) -> FitReport:
    joins = tuple(
        Join(round(r["output"] / rate, 4), round(r["from"] / rate, 4), round(r["to"] / rate, 4),
             bar_from, bar_to, round(cost, 3), round(r["crossfade_ms"], 1), r["gain_db"])
        for (cost, bar_from, bar_to), r in zip(plan.joins, rendered.joins))
    delay = rendered.delay
    report = FitReport(
        method=plan.method, target_samples=target, source_samples=total, sample_rate=rate,
        bpm=round(analysis.bpm, 2) if analysis.pulse else None,
        meter=analysis.meter if analysis.pulse else None,
        meter_confidence=round(analysis.meter_confidence, 3),
        beat_confidence=round(analysis.confidence, 3), ending=ending.shape,
        ending_kept=plan.ending_kept and ending.has_ending,
        ending_error_ms=None if rendered.error is None else round(1000 * rendered.error / rate, 1),
        # In a bar path, what the ending lands late by is what came off its decay.
        ending_trimmed_ms=round(1000 * rendered.error / rate, 1) if plan.method == "bars" else 0.0,
        joins=joins, fade_seconds=round(plan.fade / rate, 3), fade_in_seconds=round(plan.fade_in / rate, 3),
        late_start_ms=round(1000 * delay / rate, 1), opening_cut_ms=round(1000 * rendered.opening_cut / rate, 1),
        **_grid(analysis, rendered.pieces, delay, target, rate))
    return replace(report, quality=_quality(report, analysis, o))


def _quality(report: FitReport, analysis: Analysis, o: FitOptions) -> str:
    """The fit in plain words, for the hosts to show."""
    method, joins, ending, error_ms = report.method, report.joins, report.ending, report.ending_error_ms
    fade_seconds, fade_in_seconds = report.fade_seconds, report.fade_in_seconds
    late_start, opening_cut = report.late_start_ms / 1000, report.opening_cut_ms / 1000
    if method in ("whole", "bars", "ending"):
        if method == "whole":
            words = "the whole song fits: nothing cut"
        elif method == "ending":
            words = (f"a cutdown of the song's ending, faded in over "
                     f"{fade_in_seconds:.1f} s{' to a bar line' if analysis.pulse else ''}")
        elif not joins:
            words = "no cut inside the song: it plays through"
        else:
            cuts = ", ".join(f"bar {j.bar_from}→{j.bar_to}" for j in joins)
            kind = "clean" if max(j.cost for j in joins) < 1.5 else "audible"
            words = f"{kind} cut at {cuts}"
        if error_ms is not None and error_ms > o.end_tolerance * 1000:
            words += f"; the {ending} is cut {error_ms / 1000:.2f} s short"
        elif error_ms is not None and error_ms < -o.end_tolerance * 1000:
            words += f"; the {ending} ends {-error_ms / 1000:.2f} s before the last frame"
        elif ending != "none":
            words += f"; the {ending} ends on the last frame"
        if late_start >= 0.01:
            words += f", so the music comes in {late_start:.2f} s after the start"
        elif opening_cut >= 0.01:
            words += f", so the music enters {opening_cut:.2f} s into the song, " + (
                f"faded in over {fade_in_seconds:.2f} s to a beat" if fade_in_seconds >= 0.05 else "on a beat")
    elif method == "fade":
        cause = "no ending in the music" if ending == "none" else f"the {ending} does not fit this cut whole"
        words = f"{cause}: faded over the last {fade_seconds:.1f} s from a bar line"
    elif method == "join":
        words = f"no clear beat: joined into the {ending} with a {o.no_pulse_crossfade:.1f} s crossfade"
    else:
        words = f"no clear beat: faded over the last {fade_seconds:.1f} s"
    return f"{words} ({analysis.describe()})"
