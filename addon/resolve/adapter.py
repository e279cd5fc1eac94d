"""DaVinci Resolve ↔ the timeline model: read the current timeline, place a fitted file.

Every fact this relies on is in docs/resolve.md: settings are strings, marker keys
are floats relative to the timeline start, ``recordFrame`` is absolute, ``endFrame`` is
exclusive, and an append that overlaps is dropped silently, so placement is read back.
Only methods listed in Blackmagic's scripting README are called (a test checks).
All calls run on Resolve's own (dispatcher) thread.
"""
from __future__ import annotations

import math
import re
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..core import (atomic_write, bars, first_free_lane, host, FrameRate, Marker, Provenance, ScoreFitError,
                    Timeline)

MIN_VERSION = (18, 5)       # AppendToTimeline learned trackIndex and recordFrame in 18.5
BIN_NAME = "ScoreFit"


class ResolveError(ScoreFitError, RuntimeError):
    """Something the editor must do in Resolve first; nothing was changed."""


@dataclass(frozen=True)
class Put:
    """What one :func:`place` call did (:class:`TimelineHost` turns it into the contract's Placement)."""
    ok: bool
    track: int
    start: int | None
    duration: int | None
    message: str


def version(resolve) -> tuple[int, ...]:
    fields = resolve.GetVersion() or [0]
    return tuple(int(f) for f in fields[:3] if str(f).isdigit())


def check_version(resolve):
    found = version(resolve)
    if found[:2] < MIN_VERSION:
        raise ResolveError(
            f"ScoreFit needs DaVinci Resolve 18.5 or newer (this is {'.'.join(map(str, found))}): "
            "older versions cannot place audio at a chosen frame and track. Nothing was changed.")


def current(resolve):
    """(project, timeline) or a ResolveError that says what to open."""
    project = resolve.GetProjectManager().GetCurrentProject()
    if project is None:
        raise ResolveError("Open a project in DaVinci Resolve first.")
    timeline = project.GetCurrentTimeline()
    if timeline is None:
        raise ResolveError("Open a timeline (Edit page) first; ScoreFit scores the current timeline.")
    return project, timeline


def frame_rate(settings: dict) -> FrameRate:
    rate = str(settings.get("timelineFrameRate") or "").strip()
    if not rate:
        raise ResolveError("Resolve did not report the timeline's frame rate.")
    drop = rate.upper().endswith(" DF") or str(settings.get("timelineDropFrameTimecode")) == "1"
    return FrameRate.parse(rate, drop_frame=drop)


def read_timeline(timeline) -> Timeline:
    settings = timeline.GetSetting() or {}       # the dict form works on every version
    start, end = int(timeline.GetStartFrame()), int(timeline.GetEndFrame())
    if end <= start:
        raise ResolveError(f"The timeline '{timeline.GetName()}' is empty: put the cut on it first, "
                           "then run ScoreFit again. Nothing was sent.")
    markers = tuple(
        Marker(frame=int(round(float(at))), name=str(info.get("name", "")),
               note=str(info.get("note", "")), color=str(info.get("color", "")),
               duration=max(1, int(round(float(info.get("duration", 1))))))
        for at, info in (timeline.GetMarkers() or {}).items())
    return Timeline(fps=frame_rate(settings), duration_frames=end - start, start_frame=start,
                    name=str(timeline.GetName() or ""), markers=markers,
                    sample_rate=_sample_rate(settings))


def _sample_rate(settings: dict) -> int:
    # Resolve's timelines mix at 48 kHz; a project may report its capture rate as a string.
    try:
        rate = int(float(settings.get("audioCaptureSampleRate") or 48000))
    except ValueError:
        return 48000
    return rate if rate in (44100, 48000, 96000) else 48000


def _spans(timeline, index: int) -> list[tuple[int, int]]:
    return [span for span, _item in _items(timeline, index)]


def choose_track(resolve, timeline) -> tuple[int, bool]:
    """(track index, whether it was added): the first unlocked audio track free over the range."""
    wanted = (int(timeline.GetStartFrame()), int(timeline.GetEndFrame()))
    count = int(timeline.GetTrackCount("audio") or 0)
    occupied = {i: _spans(timeline, i) for i in range(1, count + 1)}
    locked = {i for i in occupied if timeline.GetIsTrackLocked("audio", i)}
    track = first_free_lane(occupied, wanted, last=count, unusable=locked)
    if track is not None:
        return track, False
    kind = {"audioType": "stereo"} if version(resolve)[:1] >= (19,) else "stereo"
    if not timeline.AddTrack("audio", kind):
        raise ResolveError("Every audio track is busy or locked over the timeline and Resolve "
                           "refused to add one. Free or unlock a track and run ScoreFit again.")
    return int(timeline.GetTrackCount("audio")), True


def _bin(pool):
    root = pool.GetRootFolder()
    for folder in root.GetSubFolderList() or []:
        if folder.GetName() == BIN_NAME:
            return folder
    return pool.AddSubFolder(root, BIN_NAME)


def import_clip(resolve, pool, path: Path):
    """Import into the ScoreFit bin, then give the editor back the folder they had open."""
    previous = pool.GetCurrentFolder()
    folder = _bin(pool)
    try:
        pool.SetCurrentFolder(folder)
        # 21.1 prefers the clipInfo form; the plain list works on every version.
        what = [{"FilePath": str(path)}] if version(resolve)[:2] >= (21, 1) else [str(path)]
        items = [i for i in (pool.ImportMedia(what) or []) if i is not None]
    finally:
        if previous is not None:
            pool.SetCurrentFolder(previous)
    if items:
        return items[0]
    # Already in the pool (the same file): Resolve imports nothing. The editor may have moved
    # it to any bin since, so look everywhere, by its file path.
    found = _find_in_pool(pool.GetRootFolder(), Path(path))
    if found is not None:
        return found
    raise ResolveError(f"Resolve did not import {path}. Check that the file exists and is readable.")


def _find_in_pool(folder, path: Path):
    for item in folder.GetClipList() or []:
        if Path(str(item.GetClipProperty("File Path") or "")) == path:
            return item
    for sub in folder.GetSubFolderList() or []:
        found = _find_in_pool(sub, path)
        if found is not None:
            return found
    return None


def provenance_comment(provenance: Provenance, role: str = "primary") -> str:
    # The request key first: Refit finds the soundtrack's song by it (never the alternate's).
    what = "ScoreFit" if role == "primary" else "ScoreFit alternate take"
    made = "generated with MusicAPI" if provenance.origin == "musicapi" else "a placeholder from the MusicAPI emulator"
    return (f"{what}: request {provenance.request_key}; {made} ({provenance.model}); tasks "
            f"{', '.join(provenance.task_ids)}; clip {provenance.clip_id(role)}; prompt: {provenance.prompt}")[:2000]


_REQUEST = re.compile(r"^ScoreFit: request (\w+);")


@dataclass(frozen=True)
class Placed:
    """A ScoreFit soundtrack on the timeline: the item, its track and its request key."""
    item: object
    track: int
    request_key: str
    path: Path


def _key_beside(path: Path) -> str:
    """The request key in the provenance sidecar beside a ScoreFit soundtrack's file ("" for
    any other file, and for the alternate take, which Refit never replaces)."""
    # A copy padded for the project's rate (see padded) sits beside the original: "<stem>-25fps".
    stem = re.sub(r"-[\d.]+fps$", "", path.stem)
    if not path.name or stem.endswith("alternate"):
        return ""
    try:
        provenance = Provenance.load(path.with_name(stem + ".json"))
    except (OSError, ValueError, TypeError, RecursionError):
        return ""
    return provenance.request_key if provenance.kind in ("generated", "refit") else ""


def placed_soundtrack(timeline) -> Placed | None:
    """The ScoreFit soundtrack on the timeline (the one at its start, if several), from the
    provenance comment its clip carries."""
    start = int(timeline.GetStartFrame())
    found = []
    for track in range(1, int(timeline.GetTrackCount("audio") or 0) + 1):
        for item in timeline.GetItemListInTrack("audio", track) or []:
            clip = item.GetMediaPoolItem() if item is not None else None
            if clip is None:
                continue
            comment = str(clip.GetClipProperty("Comments") or clip.GetMetadata("Comments") or "")
            path = Path(str(clip.GetClipProperty("File Path") or ""))
            match = _REQUEST.match(comment)
            # Comments the editor rewrote hide nothing: the provenance beside the file says it.
            key = match.group(1) if match else _key_beside(path)
            if key:
                found.append(Placed(item, track, key, path))
    found.sort(key=lambda p: (int(p.item.GetStart()) != start, p.track))
    return found[0] if found else None


class TimelineHost:
    """ScoreFit's host contract (:mod:`core.host`) on a Resolve timeline."""

    def __init__(self, resolve, project, timeline, markers: str = "none"):
        self.resolve, self.project, self.timeline, self.markers = resolve, project, timeline, markers

    def read_timeline(self) -> Timeline:
        return read_timeline(self.timeline)

    def placed(self) -> host.Placed | None:
        found = placed_soundtrack(self.timeline)
        return None if found is None else host.Placed(found.request_key, f"audio track {found.track}", found)

    def place(self, result, replacing: host.Placed | None = None) -> host.Placement:
        put = place(self.resolve, self.project, self.timeline, result.primary, result.provenance,
                    replacing=replacing.handle if replacing else None, markers=self.markers)
        said = [put.message]
        if put.ok and result.alternate is not None:
            said.append(place(self.resolve, self.project, self.timeline, result.alternate, result.provenance,
                              role="alternate").message)
        return host.Placement(f"{' '.join(said)} Provenance: {result.sidecar}.", complete=put.ok)


def place(resolve, project, timeline, path: Path, provenance: Provenance, replacing: Placed | None = None,
          role: str = "primary", markers: str = "none") -> Put:
    """Import ``path`` and put it at the timeline's start: on a free track, or where the
    soundtrack ``replacing`` is (a Refit). Read back, since Resolve drops appends silently.
    The alternate take goes on a free track too, disabled, for the editor to audition."""
    pool = project.GetMediaPool()
    start, end = int(timeline.GetStartFrame()), int(timeline.GetEndFrame())
    rate = frame_rate(timeline.GetSetting() or {}).fraction
    # An imported file takes the *project's* rate; Resolve counts its frames at that rate
    # and floors twice (the clip's frames, then the placed length). Ask for the fewest
    # source frames that make the timeline's length, and make the file long enough to hold
    # them (silence after the ending, inside the last frame).
    project_rate = _rate_of(project.GetSetting("timelineFrameRate"), rate)
    source = source_frames(end - start, rate, project_rate)
    path = padded(path, source, project_rate)
    item = import_clip(resolve, pool, path)
    # Provenance in the Media Pool's Comments column (a clip property) and in the Comments
    # metadata field: Resolve keeps the two apart, and editors look at either.
    comment = provenance_comment(provenance, role)
    item.SetClipProperty("Comments", comment)
    item.SetMetadata("Comments", comment)
    frames = int(float(item.GetClipProperty("Frames") or 0))
    clip_rate = _rate_of(item.GetClipProperty("FPS"), project_rate)
    if clip_rate != project_rate:      # Resolve gave the clip another rate than the project's
        source = source_frames(end - start, rate, clip_rate)
    if frames <= 0 or source > frames:
        raise ResolveError(f"Resolve counts {frames} frames in {path.name} at {float(clip_rate):g} fps, "
                           f"{source} are needed for the timeline's {end - start}; it is in the "
                           f"{BIN_NAME} bin.")
    what = "soundtrack" if role == "primary" else "alternate take"
    there = _already_placed(timeline, path, start)
    if there is not None and replacing is None:
        return Put(True, there, start, end - start,
                         f"This {what} is already on audio track {there} at the timeline's start; "
                         "nothing was added.")
    if replacing is None:
        track, added = choose_track(resolve, timeline)
    else:
        track, added = replacing.track, False
        # Resolve hands out a new proxy object per call: items are told apart by where they start.
        old_start = int(replacing.item.GetStart())
        others = [span for span, _i in _items(timeline, track) if span[0] != old_start]
        if any(a < end and start < b for a, b in others):
            raise ResolveError(f"Audio track {track} is not free from frame {start} to {end} beside "
                               "the soundtrack; move what is there and run Refit again. Nothing was changed.")
        old = (replacing.item.GetMediaPoolItem(), old_start)
        if not timeline.DeleteClips([replacing.item], False):
            raise ResolveError("Resolve refused to remove the old soundtrack; nothing was changed.")
    pool.AppendToTimeline([{"mediaPoolItem": item, "startFrame": 0, "endFrame": source,
                            "mediaType": 2, "trackIndex": track, "recordFrame": start}])
    # Resolve may drop an append silently, or floor its length: read back what is there.
    placed = [i for span, i in _items(timeline, track) if span[0] == start and _path(i) == Path(path)]
    where = f"audio track {track}" + (" (added)" if added else "")
    if not placed:
        if replacing is not None:      # all or nothing: the old soundtrack goes back
            clip, at = old
            pool.AppendToTimeline([{"mediaPoolItem": clip, "startFrame": 0,
                                    "endFrame": int(float(clip.GetClipProperty("Frames") or 0)),
                                    "mediaType": 2, "trackIndex": track, "recordFrame": at}])
        return Put(False, track, None, None,
                         f"Resolve did not place the {what} on {where}; it is in the "
                         f"{BIN_NAME} bin. Drag it to frame {start} by hand.")
    duration = int(placed[0].GetDuration())
    if duration != end - start:
        return Put(False, track, start, duration,
                         f"Resolve placed the {what} on {where} but {duration} frames long "
                         f"instead of {end - start}; check it (the clip is in the {BIN_NAME} bin).")
    if role != "primary":
        # Disabled, so it does not play over the soundtrack; read back, as everything here.
        if not (placed[0].SetClipEnabled(False) and placed[0].GetClipEnabled() is False):
            return Put(True, track, start, duration,
                             f"Placed the alternate take on {where}, but Resolve would not disable it: "
                             "disable or mute that track to hear only the soundtrack.")
        return Put(True, track, start, duration,
                         f"The alternate take is on {where}, disabled: enable it to audition.")
    verb = "Replaced the soundtrack" if replacing is not None else "Placed"
    marked = ""
    if markers in ("bars", "phrases"):
        report = provenance.report()
        count = mark_bars(placed[0], report, timeline, markers == "phrases")
        marked = f" {count} {'phrase' if markers == 'phrases' else 'bar'} markers on the clip." if count else \
            " No bar markers: the music has no clear beat."
    return Put(True, track, start, duration,
                     f"{verb} on {where} at {timeline.GetStartTimecode() or start}, {duration} frames.{marked}")


def source_frames(frames: int, timeline_rate: Fraction, clip_rate: Fraction) -> int:
    """The fewest whole source frames, counted at ``clip_rate``, that Resolve (which floors)
    places as ``frames`` timeline frames."""
    return math.ceil(Fraction(frames) * clip_rate / timeline_rate)


def padded(path: Path, source: int, clip_rate: Fraction) -> Path:
    """``path``, or a copy with silence after the end, so that it holds ``source`` whole
    frames at ``clip_rate`` (a project rate unlike the timeline's needs up to one more).
    Reads only the header unless a copy is needed; the copy is streamed, never loaded."""
    with wave.open(str(path)) as sound:
        params = sound.getparams()
        needed = math.ceil(Fraction(source) / clip_rate * params.framerate)
        if params.nframes >= needed:
            return Path(path)
        target = Path(path).with_name(f"{Path(path).stem}-{float(clip_rate):g}fps{Path(path).suffix}")
        if target.is_file():
            return target

        def write(out):
            with wave.open(out, "wb") as copy:
                copy.setparams(params._replace(nframes=needed))
                while block := sound.readframes(1 << 16):
                    copy.writeframesraw(block)
                copy.writeframesraw(bytes((needed - params.nframes) * params.nchannels * params.sampwidth))
        return atomic_write(target, write)


def _rate_of(value, fallback: Fraction) -> Fraction:
    try:
        return FrameRate.parse(str(value).strip()).fraction if value not in (None, "") else fallback
    except ValueError:
        return fallback


MARKER_COLOURS = {True: "Green", False: "Blue"}     # phrase starts, bar lines


def mark_bars(item, report: dict, timeline, phrases_only: bool) -> int:
    """The soundtrack's bar lines (or phrase starts) as markers on its clip, so cuts can snap
    to the music; frames count from the clip's first frame. Returns how many were added."""
    rate = frame_rate(timeline.GetSetting() or {}).fraction
    added = 0
    for mark in bars.marks(report, rate, int(item.GetDuration()), phrases_only):
        added += bool(item.AddMarker(mark.frame, MARKER_COLOURS[mark.phrase], mark.name.strip(),
                                     "ScoreFit: the music's bar line", 1, "scorefit"))
    return added


def _items(timeline, track: int) -> list:
    return [((int(i.GetStart()), int(i.GetEnd())), i)
            for i in timeline.GetItemListInTrack("audio", track) or [] if i is not None]


def _already_placed(timeline, path: Path, start: int) -> int | None:
    """The track where this very file already starts at ``start`` (a repeat run), if any."""
    for track in range(1, int(timeline.GetTrackCount("audio") or 0) + 1):
        for (at, _end), item in _items(timeline, track):
            if at == start and _path(item) == Path(path):
                return track
    return None


def _path(item) -> Path | None:
    clip = item.GetMediaPoolItem()
    return Path(str(clip.GetClipProperty("File Path") or "")) if clip is not None else None
