"""Other editors' timelines: read an export (OpenTimelineIO, FCP 7 XML, FCPXML, CMX 3600 EDL)
into the timeline model, and write the same timeline back with the soundtrack on a new
audio track, for the editor to import.

The file-based host for every editor without a ScoreFit add-on (Premiere Pro, Final Cut
Pro, Avid, Kdenlive, Resolve Free 21.1). OpenTimelineIO and its adapters are an optional
extra (``pip install "scorefit[interchange]"``), imported only here; the Blender
extension never loads this module.
"""
from __future__ import annotations

import copy
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .core import (atomic_write_bytes, clean_text, FrameRate, host, frames_to_timecode, Marker, ScoreFitError,
                   Timeline)

# File ending -> OpenTimelineIO adapter.
FORMATS = {".otio": "otio_json", ".xml": "fcp_xml", ".fcpxml": "fcpx_xml", ".edl": "cmx_3600"}
NAMES = {"otio_json": "OpenTimelineIO", "fcp_xml": "FCP 7 XML", "fcpx_xml": "FCPXML", "cmx_3600": "CMX 3600 EDL"}
SOUNDTRACK, ALTERNATE = "ScoreFit soundtrack", "ScoreFit alternate take"


class InterchangeError(ScoreFitError):
    hint = "Nothing was sent and no credits were spent."


def _otio():
    try:
        import opentimelineio
    except ImportError:
        raise InterchangeError("Reading other editors' timelines needs OpenTimelineIO.",
                               hint='Install it with: pip install "scorefit[interchange]". '
                                    "Nothing was sent and no credits were spent.") from None
    return opentimelineio


def adapter_for(path: Path, chosen: str | None = None) -> str:
    """The OpenTimelineIO adapter for ``path`` (from its ending, or ``chosen``)."""
    if chosen:
        name = FORMATS.get("." + chosen.lstrip(".").lower(), chosen)
        if name in NAMES:
            return name
        raise InterchangeError(f"Unknown timeline format {chosen!r}: use otio, xml, fcpxml or edl.")
    name = FORMATS.get(Path(path).suffix.lower())
    if name is None:
        raise InterchangeError(f"{Path(path).name}: ScoreFit reads .otio, .xml (FCP 7 XML, Premiere), "
                               ".fcpxml (Final Cut Pro) and .edl (CMX 3600); --timeline-format names "
                               "the format of a file with another ending.")
    return name


@dataclass
class Document:
    """An editor's export as read: the whole file (``root``), the timeline scored in it,
    the model made from it, and what the editor should know about the reading."""
    path: Path
    adapter: str
    root: object
    timeline: object
    model: Timeline
    notes: list = field(default_factory=list)
    edl_rate: FrameRate | None = None


def read(path: Path, adapter: str | None = None, *, edl_fps: str = "24", sample_rate: int = 48000,
         name: str | None = None) -> Document:
    """Read an export. Raises :class:`InterchangeError` with what to do."""
    otio = _otio()
    path = Path(path)
    adapter = adapter_for(path, adapter)
    notes = []
    options, edl_rate = {}, None
    if adapter == "cmx_3600":
        edl_rate = FrameRate.parse(edl_fps)
        options["rate"] = float(edl_rate.fraction)
        notes.append(f"An EDL carries no frame rate: read at {edl_rate} fps (--fps sets it).")
    if not path.is_file():
        raise InterchangeError(f"There is no timeline file at {path}.")
    try:
        root = otio.adapters.read_from_file(str(path), adapter_name=adapter, **options)
    except Exception as error:       # adapters raise anything from ValueError to KeyError
        raise InterchangeError(f"{path.name} could not be read as {NAMES[adapter]} "
                               f"({type(error).__name__}: {str(error)[:200]}).") from None
    timelines = [root] if isinstance(root, otio.schema.Timeline) else \
        list(root.find_children(descended_from_type=otio.schema.Timeline)) if hasattr(root, "find_children") else []
    if not timelines:
        raise InterchangeError(f"{path.name} holds no timeline.")
    chosen = next((t for t in timelines if t.name == name), None) if name else timelines[0]
    if chosen is None:
        raise InterchangeError(f"{path.name} has no timeline named {_named(name)}; it has "
                               + ", ".join(_named(t.name) for t in timelines[:20]) + ".")
    if len(timelines) > 1:
        notes.append(f"{path.name} holds {len(timelines)} timelines; scored {_named(chosen.name)} "
                     "(--timeline-name picks another).")
    return Document(path, adapter, root, chosen, _model(chosen, edl_rate, sample_rate, notes, path),
                    notes, edl_rate)


def _named(name) -> str:
    """A name from the file, as a message quotes it: one line, no control codes, not too long."""
    return repr(clean_text(str(name or ""), 60, one_line=True))


def _model(tl, edl_rate: FrameRate | None, sample_rate: int, notes: list, path: Path) -> Timeline:
    clips = list(tl.find_clips())
    if not clips:
        raise InterchangeError(f"{path.name}: the timeline {_named(tl.name)} has no video or audio clips, "
                               "so there is no cut to score.")
    duration = tl.duration()
    rate = edl_rate or _rate(tl, duration.rate, path)
    exact = rate.fraction

    def frames(time) -> int:
        return round(time.value * exact / time.rate) if time.rate != float(exact) else round(time.value)

    start = frames(tl.global_start_time) if tl.global_start_time is not None else 0
    markers = []
    for owner, marker in _markers(tl):
        span = marker.marked_range
        if owner is not tl.tracks:
            span = owner.transformed_time_range(span, tl.tracks)
        at = frames(span.start_time)
        markers.append(Marker(frame=at, name=str(marker.name or ""),
                              note=str(_note(marker) or ""), color=str(marker.color or "").title(),
                              duration=max(1, frames(span.duration))))
    if not markers:
        notes.append(f"{path.name} carries no markers: the prompt follows the length alone.")
    total = frames(duration)
    if total <= 0:
        raise InterchangeError(f"{path.name}: the timeline {_named(tl.name)} is empty.")
    try:
        return Timeline(fps=rate, duration_frames=total, start_frame=start, name=str(tl.name or path.stem),
                        markers=tuple(markers), sample_rate=sample_rate)
    except ValueError as error:
        raise InterchangeError(f"{path.name}: {error}.") from None


def _rate(tl, rate: float, path: Path) -> FrameRate:
    try:
        fps = FrameRate.parse(rate)
    except ValueError:
        raise InterchangeError(f"{path.name}: the frame rate {rate!r} is not one ScoreFit knows.") from None
    drop = any(isinstance(v, str) and (v.upper() == "DF" or "DROPFRAME" in v.upper().replace(" ", ""))
               for _key, v in _walk_items(tl.metadata or {})) and fps.nominal in (30, 60)
    return FrameRate(fps.num, fps.den, drop) if drop else fps


def _markers(tl):
    """(owner, marker) for the timeline's own markers, its tracks' and its clips'."""
    for marker in tl.tracks.markers:
        yield tl.tracks, marker
    for item in tl.tracks.find_children():
        for marker in getattr(item, "markers", ()):
            yield item, marker


def _note(marker) -> str:
    """A marker's note: exporters keep it in their own metadata (Resolve: Resolve_OTIO/Note,
    FCP: comment)."""
    for value in _walk_items(marker.metadata or {}):
        key, text = value
        if str(key).lower() in ("note", "notes", "comment") and isinstance(text, str) and text:
            return text
    return ""


def _walk_items(value):
    """Every (key, value) in nested metadata, as exporters nest it."""
    if hasattr(value, "items"):
        for key, sub in value.items():
            yield key, sub
            yield from _walk_items(sub)


# --- writing back ---------------------------------------------------------------------
def check_writable(out: Path, adapter: str | None = None) -> str:
    """Before paying: the output's format is one ScoreFit writes and its folder accepts files."""
    adapter = adapter_for(out, adapter)
    folder = Path(out).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise InterchangeError(f"The timeline cannot be written to {folder} (no such folder, or not "
                               "writable).")
    return adapter


def write(doc: Document, out: Path, primary: Path, alternate: Path | None = None,
          adapter: str | None = None) -> list[str]:
    """Write ``doc`` to ``out`` with the soundtrack (and, where the format can switch a clip
    off, the alternate take, disabled) on new audio tracks at the timeline's start, exactly
    its length. Nothing else changes. Returns notes for the editor."""
    otio = _otio()
    out = Path(out)
    adapter = check_writable(out, adapter)
    notes = []
    root = copy.deepcopy(doc.root)
    timeline = _same_timeline(root, doc.timeline, otio)
    model = doc.model
    rate = float(model.fps.fraction)
    length = otio.opentime.RationalTime(model.duration_frames, rate)
    takes = [(SOUNDTRACK, primary, True)]
    if alternate is not None:
        if adapter == "cmx_3600":
            notes.append("An EDL cannot switch a clip off, so the alternate take is left out of it "
                         f"(it is at {alternate}).")
        else:
            takes.append((ALTERNATE, alternate, False))
    for name, path, enabled in takes:
        clip = otio.schema.Clip(
            name=name, source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), length),
            media_reference=otio.schema.ExternalReference(
                target_url=Path(path).resolve().as_uri(),
                available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), length)))
        clip.enabled = enabled
        clip.metadata["scorefit"] = {"file": str(Path(path).resolve()),
                                     "relative_path": os.path.relpath(Path(path).resolve(), out.resolve().parent)}
        track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio)
        track.append(clip)
        timeline.tracks.append(track)
    if adapter == "cmx_3600":
        text = _edl_with_soundtrack(otio, root, doc, primary)   # the writer keeps the picture only
    else:
        text = otio.adapters.write_to_string(root, adapter)
        if adapter in ("fcp_xml", "fcpx_xml") and len(takes) > 1:
            text = _disable_in_xml(text, ALTERNATE, adapter)
    atomic_write_bytes(out, text.encode("utf-8"))
    return notes


class FileHost:
    """ScoreFit's host contract (:mod:`core.host`) on an editor's export: the result is
    placed by writing the timeline again, to ``out``, with the soundtrack added."""

    def __init__(self, doc: Document, out: Path, adapter: str | None = None):
        self.doc, self.out, self.adapter = doc, Path(out), adapter

    def read_timeline(self) -> Timeline:
        return self.doc.model

    def placed(self) -> None:
        return None          # a Refit of an export starts from the provenance file instead

    def place(self, result, replacing=None) -> host.Placement:
        notes = write(self.doc, self.out, result.primary, result.alternate, self.adapter)
        return host.Placement(" ".join([*(f"Note: {note}" for note in notes),
                                        f"Timeline with the soundtrack: {self.out.absolute()} (import it "
                                        "into your editor)."]))


def _same_timeline(root, original, otio):
    if isinstance(root, otio.schema.Timeline):
        return root
    found = list(root.find_children(descended_from_type=otio.schema.Timeline))
    originals = [root_tl for root_tl in found if root_tl.name == original.name]
    return originals[0] if originals else found[0]


def _disable_in_xml(text: str, name: str, adapter: str) -> str:
    """FCP 7 XML and FCPXML can switch a clip off, but OpenTimelineIO's writers do not say
    so: mark the alternate take's clip disabled in the written XML."""
    head = text[:text.index("<", text.index("?>") + 2)] if text.startswith("<?xml") else ""
    body = text[len(head):]
    doctype = ""
    if body.startswith("<!DOCTYPE"):
        doctype, body = body[:body.index(">") + 1] + "\n", body[body.index(">") + 1:].lstrip()
    root = ET.fromstring(body)
    for element in root.iter():
        if adapter == "fcp_xml" and element.tag == "clipitem" and element.findtext("name") == name:
            enabled = element.find("enabled")
            if enabled is None:
                enabled = ET.SubElement(element, "enabled")
            enabled.text = "FALSE"
        elif adapter == "fcpx_xml" and element.get("name") == name and element.tag.endswith("clip"):
            element.set("enabled", "0")
    return head + doctype + ET.tostring(root, encoding="unicode")


def _edl_with_soundtrack(otio, root, doc: Document, primary: Path) -> str:
    """OpenTimelineIO's EDL writer keeps only the picture: the soundtrack is added as one
    stereo audio event (AA) at the record start, with its file named as Avid and
    Premiere read it."""
    text = otio.adapters.write_to_string(root, "cmx_3600", rate=float(doc.edl_rate.fraction))
    model = doc.model
    events = [line for line in text.splitlines() if line[:3].isdigit()]
    number = len(events) + 1
    fps = model.fps

    def tc(frames: int) -> str:
        return frames_to_timecode(frames, fps)
    start = model.start_frame
    event = (f"{number:03d}  SCOREFIT AA    C        {tc(0)} {tc(model.duration_frames)} "
             f"{tc(start)} {tc(start + model.duration_frames)}\n"
             f"* FROM CLIP NAME: {Path(primary).name}\n* SOURCE FILE: {Path(primary).resolve()}\n")
    return text.rstrip("\n") + "\n" + event
