"""From a timeline to words: sections (split at markers), their moods, and the prompt.

Deterministic: the same timeline always gives the same prompt, so a cached result can
be found again. Marker names and notes carry mood words ("tense build", "calm");
marker colours can carry meaning too (Resolve has colours; the mapping is a setting).
"""
from __future__ import annotations

import heapq
import re
import unicodedata
from dataclasses import dataclass, replace
from fractions import Fraction

from .timeline import Timeline

# mood word -> energy (0 calm, 1 moderate, 2 high). Order matters only for ties.
MOODS = {
    "calm": 0, "peaceful": 0, "gentle": 0, "soft": 0, "ambient": 0, "sad": 0, "melancholic": 0,
    "dreamy": 0, "quiet": 0, "intimate": 0, "reflective": 0, "somber": 0, "serene": 0,
    "warm": 1, "hopeful": 1, "mysterious": 1, "tense": 1, "suspense": 1, "romantic": 1,
    "playful": 1, "nostalgic": 1, "dark": 1, "curious": 1, "building": 1, "build": 1, "groovy": 1,
    "uplifting": 2, "energetic": 2, "epic": 2, "triumphant": 2, "action": 2, "intense": 2,
    "driving": 2, "upbeat": 2, "euphoric": 2, "aggressive": 2, "climax": 2, "chase": 2, "happy": 2,
}
# Resolve's marker colours; Blender markers have none. Users may override any of these.
DEFAULT_COLOR_MOODS = {
    "Blue": "calm", "Cyan": "dreamy", "Green": "hopeful", "Yellow": "playful", "Red": "intense",
    "Pink": "romantic", "Purple": "mysterious", "Fuchsia": "euphoric", "Rose": "warm",
    "Lavender": "reflective", "Sky": "uplifting", "Mint": "gentle", "Lemon": "happy",
    "Sand": "nostalgic", "Cocoa": "dark", "Cream": "soft",
}
STRUCTURE = {0: "Break", 1: "Verse", 2: "Chorus"}
PROMPT_LIMIT = 3000   # the strictest model's limit; later models allow 5000
TAGS_LIMIT = 199      # "less than 200"
TITLE_LIMIT = 79      # "less than 80"
DEFAULT_STYLE = "cinematic, instrumental"


@dataclass(frozen=True)
class Section:
    start: Fraction       # seconds from the timeline start
    end: Fraction
    moods: tuple
    energy: int
    label: str = ""

    def line(self, *, first: bool, last: bool) -> str:
        tag = "Intro" if first and not last else STRUCTURE[self.energy]
        words = ", ".join(self.moods)
        label = f" ({self.label})" if self.label else ""
        return f"[{tag}] {words}{label}, from {_clock(self.start)}"


@dataclass(frozen=True)
class PromptSpec:
    """Everything sent as words. ``prompt`` is editable; sections drive the extends."""
    prompt: str
    tags: str
    title: str
    sections: tuple
    instrumental: bool = True
    negative_tags: str = "vocals, singing"

    def edited(self, **changes) -> "PromptSpec":
        clean = {k: clean_text(v, _LIMITS[k], one_line=k != "prompt") if k in _LIMITS else v
                 for k, v in changes.items()}
        return replace(self, **clean)

    def continuation(self, start: Fraction, *, ending: bool) -> str:
        """Prompt for an extend that starts at ``start`` seconds into the timeline."""
        section = section_at(self.sections, start)
        lines = [f"Continue the same piece: same tempo, key and instruments. {self.tags}."]
        lines.append(section.line(first=False, last=ending))
        if ending:
            lines += ["[Outro] resolve to a clear final chord", "[End]"]
        return clean_text("\n".join(lines), PROMPT_LIMIT)


_LIMITS = {"prompt": PROMPT_LIMIT, "tags": TAGS_LIMIT, "title": TITLE_LIMIT, "negative_tags": TAGS_LIMIT}


def _clock(seconds: Fraction) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def clean_text(text: str, limit: int, one_line: bool = False) -> str:
    """Strip control characters and cut at ``limit`` characters (never inside one) on a word
    boundary; ``one_line`` folds line breaks too (titles and tags end up in names)."""
    text = "".join(ch for ch in unicodedata.normalize("NFC", str(text))
                   if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split()) if one_line else re.sub(r"[ \t]+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = max(cut.rfind(" "), cut.rfind(","), cut.rfind("\n"))
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,")


def moods_in(text: str) -> tuple:
    words = re.findall(r"\w+", text.lower())
    return tuple(dict.fromkeys(w for w in words if w in MOODS))


def _energy(moods) -> int:
    return max((MOODS[m] for m in moods), default=1)


def _section_lines(sections) -> list:
    return [s.line(first=i == 0, last=i == len(sections) - 1) for i, s in enumerate(sections)]


def summarise(sections: tuple, budget: int) -> tuple:
    """Fewer, longer sections until their lines fit ``budget`` characters: the shortest
    section joins its more alike neighbour (moods united, at most three), so a cut with
    hundreds of markers still gets a prompt that covers all of it and keeps its ending.

    The shortest is taken from a heap and the prompt's length kept as a running sum, so
    thousands of markers plan in milliseconds (n log n), not minutes."""
    secs = list(sections)
    n = len(secs)
    before, after = list(range(-1, n - 1)), list(range(1, n + 1))
    if n:
        after[-1] = -1
    version = [0] * n

    def length(k: int) -> int:
        return len(secs[k].line(first=before[k] == -1, last=after[k] == -1))

    def span(k: int):
        return secs[k].end - secs[k].start
    total = sum(length(k) for k in range(n)) + max(0, n - 1)
    # Float keys: Fraction comparisons were most of the time on thousands of markers; spans
    # are whole frames of seconds, far apart in float precision, so the order is the same.
    heap = [(float(span(k)), k, 0) for k in range(n)]
    heapq.heapify(heap)
    count = n
    while count > 1 and total > budget:
        _span, i, seen = heapq.heappop(heap)
        if seen != version[i]:
            continue                    # merged since: its entry is stale
        p, q = before[i], after[i]
        if p == -1:
            j = q
        elif q == -1:
            j = p
        else:
            shared = [len(set(secs[k].moods) & set(secs[i].moods)) for k in (p, q)]
            j = p if shared[0] >= shared[1] else q
        a, b = min(i, j), max(i, j)
        total -= length(a) + length(b) + 1
        keep = secs[a] if span(a) >= span(b) else secs[b]
        moods = tuple(dict.fromkeys(keep.moods + secs[a].moods + secs[b].moods))[:3]
        secs[a] = Section(secs[a].start, secs[b].end, moods, max(secs[a].energy, secs[b].energy), keep.label)
        after[a] = after[b]
        if after[b] != -1:
            before[after[b]] = a
        version[b] = -1
        version[a] += 1
        heapq.heappush(heap, (float(span(a)), a, version[a]))
        total += length(a)
        count -= 1
    return tuple(secs[k] for k in range(n) if version[k] != -1)


def section_at(sections, seconds) -> Section:
    for section in sections:
        if section.start <= seconds < section.end:
            return section
    return sections[-1]


def derive_sections(timeline: Timeline, color_moods: dict | None = None) -> tuple:
    colors = {**DEFAULT_COLOR_MOODS, **(color_moods or {})}
    base = moods_in(timeline.name) or ("cinematic",)
    starts = [(Fraction(0), base, "")]
    for marker in timeline.markers:
        moods = moods_in(f"{marker.name} {marker.note}")
        if not moods and marker.color in colors:
            moods = (colors[marker.color],)
        if not moods:
            continue   # a marker without mood words is an edit note, not a change of music
        at = timeline.marker_seconds(marker)
        if at >= timeline.duration_seconds:
            continue   # past the end of the cut: no music is made there
        label = clean_text(marker.name, 40, one_line=True)
        if at == 0:
            starts[0] = (Fraction(0), moods, label)
        else:
            starts.append((at, moods, label))
    sections = []
    for (start, moods, label), following in zip(starts, starts[1:] + [None]):
        end = following[0] if following else timeline.duration_seconds
        if sections and sections[-1].moods == moods:
            sections[-1] = replace(sections[-1], end=end)   # same mood: one section
            continue
        sections.append(Section(start, end, moods, _energy(moods) if moods != ("cinematic",) else 1, label))
    return tuple(sections)


def derive_prompt(timeline: Timeline, *, style: str = DEFAULT_STYLE, instrumental: bool = True,
                  color_moods: dict | None = None) -> PromptSpec:
    sections = derive_sections(timeline, color_moods)
    name = clean_text(timeline.name, 60, one_line=True)
    kind = "Instrumental soundtrack" if instrumental else "Soundtrack"
    head = f"{kind} for a {_clock(timeline.duration_seconds)} video"
    head += f' titled "{name}".' if name else "."
    opening = [head, f"Style: {clean_text(style, TAGS_LIMIT, one_line=True)}."]
    closing = ["[Outro] resolve to a clear final chord", "[End]"]
    budget = PROMPT_LIMIT - len("\n".join(opening + closing)) - 1
    sections = summarise(sections, budget)
    lines = opening + _section_lines(sections) + closing
    all_moods = dict.fromkeys(m for s in sections for m in s.moods)
    tags = ", ".join(dict.fromkeys([t.strip() for t in style.split(",") if t.strip()] + list(all_moods)))
    return PromptSpec(
        prompt=clean_text("\n".join(lines), PROMPT_LIMIT),
        tags=clean_text(tags, TAGS_LIMIT, one_line=True),
        title=clean_text(name or "ScoreFit soundtrack", TITLE_LIMIT, one_line=True),
        sections=sections,
        instrumental=instrumental,
        negative_tags="vocals, singing" if instrumental else "",
    )
