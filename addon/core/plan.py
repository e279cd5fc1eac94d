"""The generation plan: what will be asked of MusicAPI, and what it will cost.

A plan is shown before anything is spent. It is a forecast: the model picks its own
clip lengths, so the pipeline decides each ``continue_at`` when the previous clip is
in hand (:func:`choose_continue_at`) and may add extends, never more than the plan's
``max_credits`` allows.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass
from fractions import Fraction

from .errors import InputError
from .prompt import PromptSpec
from .timeline import Timeline

CREDITS = {"create": 15, "extend": 15, "concat": 2, "wav": 2}
ENDING_ROOM = 6.0     # seconds of music beyond the cut, so the ending can be placed well
OUTRO_SKIP = 10.0     # a continuation starts this far before a clip's end, ahead of its outro
MIN_CONTINUE = 20.0   # never continue earlier than this into a clip


@dataclass(frozen=True)
class ModelInfo:
    name: str
    max_seconds: float        # longest clip one call yields (vendor FAQ, approximate)
    typical_seconds: float    # what a call usually yields; the plan's forecast
    duration_target: bool = False   # accepts the newer ``duration`` field

    def service_seconds(self, clip_seconds: float) -> float:
        """Expected generation time (vendor: 1-3 minutes a song)."""
        return 25.0 + 0.3 * clip_seconds


MODELS = {m.name: m for m in (
    ModelInfo("sonic-v3-5", 120, 85),
    ModelInfo("sonic-v4", 120, 85),
    ModelInfo("sonic-v4-5", 240, 160),
    ModelInfo("sonic-v4-5-plus", 240, 160),
    ModelInfo("sonic-v5", 480, 200),
    ModelInfo("sonic-v5-5", 480, 200, True),
    ModelInfo("sonic-v6", 480, 200, True),
    ModelInfo("sonic-v6-wild", 480, 200, True),
    ModelInfo("sonic-v6-mini", 240, 140, True),
)}
DEFAULT_MODEL = "sonic-v5"


def model_info(name: str) -> ModelInfo:
    """Known models, or a cautious guess for a newer name (passed through unchanged)."""
    return MODELS.get(name) or ModelInfo(name, 240, 120)


@dataclass(frozen=True)
class Settings:
    """The editor's choices that change what is paid for."""
    model: str = DEFAULT_MODEL
    output: str = "wav"          # "wav": lossless from the service (2 credits); "mp3": needs a decoder
    alternate: bool = True       # also fit the job's second variation
    seed: int = 0                # another number asks for a new take of the same request
    max_extra_extends: int = 2   # extends beyond the forecast the pipeline may add

    def __post_init__(self):
        if self.output not in ("wav", "mp3"):
            raise InputError(f"output must be 'wav' or 'mp3', not {self.output!r}")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,40}", self.model or ""):
            raise InputError(f"{self.model!r} is not a MusicAPI model name (for example {DEFAULT_MODEL})")


@dataclass(frozen=True)
class Step:
    kind: str             # create | extend | concat | wav
    label: str            # what the editor sees while it runs
    credits: int
    service_seconds: float
    song_start: float = 0.0   # forecast: where this part starts in the song


SHORT_CUT_SECONDS = 5.0     # shorter cuts are warned about before anything is paid


@dataclass(frozen=True)
class Plan:
    timeline: Timeline
    spec: PromptSpec
    settings: Settings
    steps: tuple
    target_seconds: float
    reuse: "Reuse | None" = None    # a Refit: the song already paid for, continued if short
    # The delivery loudness the fitted music is brought to (LUFS), or None to leave its level.
    # What is bought does not depend on it, so the request key leaves it out.
    loudness: float | None = None
    # Dialogue files (starting with the cut) the fitted music is lowered under; not bought either.
    duck_under: tuple = ()

    @property
    def credits(self) -> int:
        return sum(s.credits for s in self.steps)

    @property
    def max_credits(self) -> int:
        """The most the pipeline will spend (forecast plus the allowed extra extends)."""
        if not self.steps:
            return 0            # a free Refit: the song already covers the cut
        extra = self.settings.max_extra_extends * CREDITS["extend"]
        if not any(s.kind == "concat" for s in self.steps) and self.settings.max_extra_extends:
            extra += CREDITS["concat"] * (2 if self.settings.alternate else 1)
        return self.credits + extra

    @property
    def calls(self) -> int:
        return len(self.steps)

    @property
    def extends(self) -> int:
        return sum(1 for s in self.steps if s.kind == "extend")

    @property
    def service_seconds(self) -> float:
        return sum(s.service_seconds for s in self.steps)

    @property
    def short_warning(self) -> str:
        """What to say before paying for a very short cut (the price does not shrink with it)."""
        seconds = float(self.timeline.duration_seconds)
        if seconds >= SHORT_CUT_SECONDS:
            return ""
        frames = self.timeline.duration_frames
        return (f"This cut is only {frames} frame{'s' if frames != 1 else ''} ({seconds:.2f} s): "
                f"MusicAPI charges the same (up to {self.max_credits} credits) as for a whole song.")

    def describe(self) -> str:
        if self.reuse is not None and not self.steps:
            return "Refit from the song in the library: free, no request is sent"
        parts = ["1 generation"] if self.reuse is None else ["Refit"]
        if self.extends:
            parts.append(f"{self.extends} extend{'s' if self.extends > 1 else ''}")
        joins = sum(1 for s in self.steps if s.kind == "concat")
        if joins:
            parts.append(f"{joins} join{'s' if joins > 1 else ''}")
        wavs = sum(1 for s in self.steps if s.kind == "wav")
        if wavs:
            parts.append(f"{wavs} WAV")
        minutes = max(1, round(self.service_seconds / 60))
        return (f"{', '.join(parts)}: {self.credits} credits (at most {self.max_credits}), "
                f"about {minutes} min")

    @property
    def dropped(self) -> list[str]:
        """What the editor set up that this plan leaves out, in words."""
        start = self.timeline.start_frame
        return [f"The marker '{m.name or 'unnamed'}' at frame {start + m.frame} is "
                f"{'before the start' if m.frame < 0 else 'past the end'} of the cut and was left out "
                "of the prompt." for m in self.timeline.dropped_markers]

    def request_key(self, service: str) -> str:
        """Names the paid material in the library: the same request (and seed) to the same
        service is the same key, served from the library. Asked for when the job runs, so a
        plan is drawn without a key or a service."""
        if self.reuse is not None:
            blob = json.dumps([self.reuse.key, round(self.target_seconds, 3), service,
                               self.settings.model, self.settings.output]).encode("utf-8")
            return "r" + hashlib.sha256(blob).hexdigest()[:19]
        payload = {
            "prompt": self.spec.prompt, "tags": self.spec.tags, "title": self.spec.title,
            "negative_tags": self.spec.negative_tags, "instrumental": self.spec.instrumental,
            "sections": [[str(s.start), str(s.end), list(s.moods)] for s in self.spec.sections],
            "target": round(self.target_seconds, 3), "service": service,
            **asdict(self.settings),
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()[:20]

    def create_body(self) -> dict:
        info = model_info(self.settings.model)
        prompt = self.spec.prompt
        if self.extends:
            # Extends follow, so the first clip should not wind down: its ending is cut anyway.
            prompt = re.sub(r"\n\[Outro\][^\n]*|\n\[End\]", "", prompt)
        body = self._common(prompt)
        body["task_type"] = "create_music"
        if info.duration_target:
            body["duration"] = int(min(360, max(10, math.ceil(self.target_seconds))))
        return body

    def extend_body(self, clip_id: str, continue_at: int, song_time: float, ending: bool,
                    remaining: float) -> dict:
        body = self._common(self.spec.continuation(Fraction(song_time).limit_denominator(1000),
                                                   ending=ending))
        body.update(task_type="extend_music", continue_clip_id=clip_id, continue_at=int(continue_at))
        if model_info(self.settings.model).duration_target:
            body["duration"] = int(min(360, max(10, math.ceil(remaining))))
        return body

    def _common(self, prompt: str) -> dict:
        body = {"custom_mode": True, "mv": self.settings.model, "prompt": prompt,
                "title": self.spec.title, "tags": self.spec.tags,
                "make_instrumental": self.spec.instrumental}
        if self.spec.negative_tags:
            body["negative_tags"] = self.spec.negative_tags
        return body


@dataclass(frozen=True)
class Reuse:
    """The unfitted song behind a placed soundtrack, for a Refit: the library job it came
    from, its last clip and that clip's length."""
    key: str
    clip_id: str
    seconds: float
    source: str          # the audio file, relative to the library's tracks folder


def make_refit_plan(timeline: Timeline, spec: PromptSpec, reuse: Reuse, settings: Settings) -> Plan:
    """Free when the song already covers the new cut (with room for its ending); otherwise
    extend only the missing part and join, then convert: never a new generation."""
    settings = Settings(model=settings.model, output=settings.output, alternate=False,
                        seed=settings.seed, max_extra_extends=settings.max_extra_extends)
    target = float(timeline.duration_seconds) + ENDING_ROOM
    if reuse.seconds >= target:
        return Plan(timeline, spec, settings, (), target, reuse)
    info = model_info(settings.model)
    gain = max(30.0, info.typical_seconds - OUTRO_SKIP)
    start = reuse.seconds - OUTRO_SKIP
    steps = []
    for i in range(max(1, math.ceil((target - start) / gain))):
        steps.append(Step("extend", "Extending", CREDITS["extend"],
                          info.service_seconds(gain + OUTRO_SKIP), song_start=start + i * gain))
    steps.append(Step("concat", "Joining", CREDITS["concat"], 4.0))
    if settings.output == "wav":
        steps.append(Step("wav", "Converting", CREDITS["wav"], 3.0))
    return Plan(timeline, spec, settings, tuple(steps), target, reuse)


def make_plan(timeline: Timeline, spec: PromptSpec, settings: Settings = Settings()) -> Plan:
    info = model_info(settings.model)
    duration = float(timeline.duration_seconds)
    target = duration + ENDING_ROOM
    first = min(info.max_seconds, target) if info.duration_target else info.typical_seconds
    gain = max(30.0, (min(info.max_seconds, target) if info.duration_target
                      else info.typical_seconds) - OUTRO_SKIP)
    steps = [Step("create", "Generating", CREDITS["create"], info.service_seconds(first))]
    covered = first
    extends = max(0, math.ceil((target - first) / gain)) if target > first else 0
    for i in range(extends):
        start = covered - OUTRO_SKIP
        steps.append(Step("extend", f"Extending {i + 1}/{extends}", CREDITS["extend"],
                          info.service_seconds(gain + OUTRO_SKIP), song_start=start))
        covered = start + gain + OUTRO_SKIP
    versions = 2 if settings.alternate else 1
    if extends:
        steps += [Step("concat", "Joining", CREDITS["concat"], 4.0)] * versions
    if settings.output == "wav":
        steps += [Step("wav", "Converting", CREDITS["wav"], 3.0)] * versions
    return Plan(timeline, spec, settings, tuple(steps), target)


def choose_continue_at(plan: Plan, clip_offset: float, clip_duration: float) -> tuple[int, float]:
    """Where to continue a clip that starts at ``clip_offset`` in the song.

    At a mood change (a section start) when one falls in the clip's last minute,
    so the new prompt takes over where the picture changes; otherwise shortly
    before the clip's end, ahead of any outro. Returns (continue_at, song_time).
    """
    clip_end = clip_offset + clip_duration
    lowest = clip_offset + max(MIN_CONTINUE, clip_duration - 60.0)
    highest = clip_end - 4.0
    changes = [float(s.start) for s in plan.spec.sections if lowest <= float(s.start) <= highest]
    if changes:
        song_time = changes[-1]
    else:
        song_time = max(clip_offset + min(MIN_CONTINUE, clip_duration / 2), clip_end - OUTRO_SKIP)
    continue_at = max(1, int(song_time - clip_offset))   # the API takes whole seconds
    return continue_at, clip_offset + continue_at


def is_last_extend(plan: Plan, song_time: float) -> bool:
    """Whether an extend from ``song_time`` is expected to reach the target (so it should end)."""
    info = model_info(plan.settings.model)
    return plan.target_seconds - song_time <= info.typical_seconds * 0.8 or info.duration_target

