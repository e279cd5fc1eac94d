"""DaVinci Resolve ↔ the timeline model: read the current timeline, place a fitted file.

Every fact this relies on is in shared/resolve-api.md: settings are strings, marker keys
are floats relative to the timeline start, ``recordFrame`` is absolute, ``endFrame`` is
exclusive, and an append that overlaps is dropped silently, so placement is read back.
Only methods listed in Blackmagic's scripting README are called (a test checks).
All calls run on Resolve's own (dispatcher) thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.placement import first_free_lane
from ..core.timeline import FrameRate, Marker, Timeline

MIN_VERSION = (18, 5)       # AppendToTimeline learned trackIndex and recordFrame in 18.5
BIN_NAME = "ScoreFit"


class ResolveError(RuntimeError):
    """Something the editor must do in Resolve first; nothing was changed."""


@dataclass(frozen=True)
class Placement:
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
    return [(int(item.GetStart()), int(item.GetEnd()))
            for item in timeline.GetItemListInTrack("audio", index) or [] if item is not None]


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


def provenance_comment(provenance: dict) -> str:
    request = provenance.get("request", {})
    tasks = ", ".join(t["task_id"] for t in provenance.get("tasks", []) if t.get("task_id"))
    return (f"ScoreFit: generated with MusicAPI ({request.get('model', '')}); tasks {tasks}; "
            f"clip {provenance.get('clips', {}).get('primary', '')}; prompt: "
            f"{request.get('prompt', '')!s}")[:2000]


def place(resolve, project, timeline, path: Path, provenance: dict) -> Placement:
    pool = project.GetMediaPool()
    item = import_clip(resolve, pool, path)
    # Provenance in the Media Pool's Comments column (a clip property) and in the Comments
    # metadata field: Resolve keeps the two apart, and editors look at either.
    comment = provenance_comment(provenance)
    item.SetClipProperty("Comments", comment)
    item.SetMetadata("Comments", comment)
    start, end = int(timeline.GetStartFrame()), int(timeline.GetEndFrame())
    frames = int(float(item.GetClipProperty("Frames") or 0))
    if frames <= 0:
        raise ResolveError(f"Resolve reports no frames for {path.name}; it is in the {BIN_NAME} bin.")
    track, added = choose_track(resolve, timeline)
    pool.AppendToTimeline([{"mediaPoolItem": item, "startFrame": 0, "endFrame": frames,
                            "mediaType": 2, "trackIndex": track, "recordFrame": start}])
    # Resolve may drop an append silently, or floor its length: read back what is there.
    placed = [i for i in timeline.GetItemListInTrack("audio", track) or []
              if i is not None and int(i.GetStart()) == start]
    where = f"audio track {track}" + (" (added)" if added else "")
    if not placed:
        return Placement(False, track, None, None,
                         f"Resolve did not place the soundtrack on {where}; it is in the "
                         f"{BIN_NAME} bin. Drag it to frame {start} by hand.")
    duration = int(placed[0].GetDuration())
    if duration != end - start:
        return Placement(False, track, start, duration,
                         f"Resolve placed the soundtrack on {where} but {duration} frames long "
                         f"instead of {end - start}; check it (the clip is in the {BIN_NAME} bin).")
    return Placement(True, track, start, duration,
                     f"Placed on {where} at {timeline.GetStartTimecode() or start}, "
                     f"{duration} frames.")
