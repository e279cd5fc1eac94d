"""Other editors' exports (tests/fixtures/timelines, real files from the OpenTimelineIO
project): read into the timeline model, scored against the emulator, written back with the
soundtrack on a new audio track, and re-read with OpenTimelineIO."""
import re
import shutil
from fractions import Fraction
import xml.etree.ElementTree as ET
from pathlib import Path

import opentimelineio as otio
import pytest

from scorefit import interchange
from scorefit.cli import main as cli
from scorefit.core import config
from scorefit.emulator import DEFAULT_KEY

SAMPLES = Path(__file__).parent / "fixtures" / "timelines"

# Checked by reading each file: rate, start frame, length in frames, markers (frame, name).
EXPECTED = {
    # <timebase>30</timebase>, <ntsc>FALSE</ntsc>; sequence <duration>1271</duration>; three
    # sequence markers (<in>113, 298, 492) and one on a clip (395).
    "premiere_example.xml": (30, 0, 1271, [(113, "My MArker 1"), (298, ""), (395, ""), (492, "dsf")]),
    "premiere_example.otio": (30, 0, 1271, [(113, "My MArker 1"), (298, ""), (395, ""), (492, "dsf")]),
    # <timecode> 01:00:00:00 at 24 (86400); the last clip ends at 1324.
    "hiero_xml_export.xml": (24, 86400, 1324, []),
    # frameDuration="100/3000s" (30 fps); the first project's sequence: duration="150s".
    "fcpx_example.fcpxml": (30, 0, 4500, None),
    # The last event's record out is 00:00:19:21 at 25 fps (496); no markers in an EDL.
    "25fps.edl": (25, 0, 496, []),
    # Record out 00:00:03:09 at 24 (81).
    "avid_example.edl": (24, 0, 81, []),
    "multitrack.otio": (24, 0, 3282, []),
}


def edl_fps(name):
    return "25" if name == "25fps.edl" else "24"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_export_reads_into_the_timeline_model(name):
    rate, start, frames, markers = EXPECTED[name]
    doc = interchange.read(SAMPLES / name, edl_fps=edl_fps(name))
    model = doc.model
    assert model.fps.fraction == rate and model.start_frame == start and model.duration_frames == frames
    if markers is not None:
        assert [(m.frame, m.name) for m in model.markers] == markers
    else:     # FCPXML: markers live on clips, placed in timeline time
        assert len(model.markers) >= 5 and all(0 <= m.frame < frames for m in model.markers)
    if not markers and markers is not None:
        assert any("carries no markers" in note for note in doc.notes)


def test_the_premiere_markers_keep_their_colour_as_a_mood_hint():
    model = interchange.read(SAMPLES / "premiere_example.xml").model
    assert {m.color for m in model.markers} == {"Red"}


@pytest.fixture
def service(live_emulator, monkeypatch):
    emulator = live_emulator
    monkeypatch.setenv("MUSICAPI_KEY", DEFAULT_KEY)
    config.save_settings(base_url=emulator.url, time_scale=emulator.speed, alternate=False)
    return emulator


def _timeline(path, adapter, name):
    root = otio.adapters.read_from_file(str(path), adapter_name=adapter,
                                        **({"rate": float(edl_fps(name))} if adapter == "cmx_3600" else {}))
    if isinstance(root, otio.schema.Timeline):
        return root
    return list(root.find_children(descended_from_type=otio.schema.Timeline))[0]


OURS = {interchange.SOUNDTRACK, interchange.ALTERNATE, "score.wav", "score-alternate.wav"}


def _items(timeline):
    """Every original clip, where it sits: (track kind, name, range). Lanes may be renumbered
    when a track is added (FCPXML counts audio lanes downwards), so not by track number."""
    return sorted(((track.kind, clip.name, clip.range_in_parent()) for track in timeline.tracks
                   for clip in track.find_clips() if clip.name not in OURS), key=repr)


def _ours(timeline):
    # An EDL names a clip by its file (what editors relink by); the others by ScoreFit's name.
    return [c for c in timeline.find_clips() if c.name in OURS]


def _disabled_in_xml(text: str) -> bool:
    root = ET.fromstring(text[text.index("<", text.index("?>")):].split(">", 1)[1]
                         if "<!DOCTYPE" in text else text.encode())
    for element in root.iter():
        if element.tag == "clipitem" and element.findtext("name") == interchange.ALTERNATE:
            return element.findtext("enabled") == "FALSE"
        if element.tag == "clip" and element.get("name") == interchange.ALTERNATE:
            return element.get("enabled") == "0"
    return False


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_round_trip_puts_the_soundtrack_at_the_start_and_changes_nothing_else(service, name, tmp_path, capsys):
    source = tmp_path / name
    shutil.copy(SAMPLES / name, source)
    adapter = interchange.adapter_for(source)
    before = _timeline(source, adapter, name)
    out = tmp_path / f"with-music{source.suffix}"
    args = ["fit", "--yes", "--timeline", str(source), "--fps", edl_fps(name), "--model", "sonic-v4",
            "--sample-rate", "22050", "-o", str(tmp_path / "score.wav"), "--out-timeline", str(out)]
    assert cli(args) == 0, capsys.readouterr().err
    frames = interchange.read(source, edl_fps=edl_fps(name)).model.duration_frames
    after = _timeline(out, adapter, name)
    assert _items(after) == _items(before)                       # every original item unchanged
    ours = _ours(after)
    # One clip; an EDL's stereo event (AA) reads back as one clip on each of two audio tracks.
    assert len(ours) == (2 if adapter == "cmx_3600" else 1)
    for clip in ours:
        assert clip.parent().kind == otio.schema.TrackKind.Audio
        placed = clip.range_in_parent()
        assert placed.start_time.value == 0 and round(placed.duration.value) == frames   # frame-exact
    clip = ours[0]
    if adapter != "cmx_3600":
        assert clip.media_reference.target_url == (tmp_path / "score.wav").resolve().as_uri()
    else:
        assert f"SOURCE FILE: {(tmp_path / 'score.wav').resolve()}" in out.read_text()
    assert "Timeline with the soundtrack" in capsys.readouterr().out


@pytest.mark.parametrize("name,check", [
    ("multitrack.otio", lambda text, clips: [c.enabled for c in clips] == [True, False]),
    ("premiere_example.xml", lambda text, clips: _disabled_in_xml(text)),
    ("fcpx_example.fcpxml", lambda text, clips: _disabled_in_xml(text)),
])
def test_the_alternate_take_is_written_disabled_where_the_format_can_say_so(service, name, check, tmp_path):
    config.save_settings(alternate=True)
    out = tmp_path / f"out{Path(name).suffix}"
    assert cli(["fit", "--yes", "--timeline", str(SAMPLES / name), "--model", "sonic-v4", "--sample-rate", "22050",
                "-o", str(tmp_path / "score.wav"), "--out-timeline", str(out)]) == 0
    clips = _ours(_timeline(out, interchange.adapter_for(out), name))
    assert len(clips) == 2 and check(out.read_text(), clips)


def test_an_edl_says_it_cannot_hold_the_alternate(service, tmp_path, capsys):
    config.save_settings(alternate=True)
    out = tmp_path / "out.edl"
    assert cli(["fit", "--yes", "--timeline", str(SAMPLES / "avid_example.edl"), "--model", "sonic-v4",
                "--sample-rate", "22050", "-o", str(tmp_path / "score.wav"), "--out-timeline", str(out)]) == 0
    assert "cannot switch a clip off" in capsys.readouterr().out
    assert {c.name for c in _ours(_timeline(out, "cmx_3600", "avid_example.edl"))} == {"score.wav"}


def test_another_output_format_than_the_input(service, tmp_path):
    out = tmp_path / "cut+music.otio"
    assert cli(["fit", "--yes", "--timeline", str(SAMPLES / "premiere_example.xml"), "--model", "sonic-v4",
                "--sample-rate", "22050", "-o", str(tmp_path / "score.wav"), "--out-timeline", str(out)]) == 0
    assert len(_ours(otio.adapters.read_from_file(str(out)))) == 1


def test_plan_reads_an_export_offline(tmp_path, capsys):
    assert cli(["plan", "--timeline", str(SAMPLES / "25fps.edl"), "--fps", "25"]) == 0
    out = capsys.readouterr().out
    assert "00:00:19:21 at 25 fps" in out and "carries no frame rate" in out


@pytest.mark.parametrize("content,suffix,extra,says", [
    ("not a timeline", ".txt", [], "is not a ScoreFit timeline"),
    ("not a timeline", ".mov", ["--timeline-format", "mov"], "Unknown timeline format 'mov'"),
    ("<xmeml><sequence><broken", ".xml", [], "could not be read as FCP 7 XML"),
    ('{"OTIO_SCHEMA": "Nonsense.1"}', ".otio", [], "holds no timeline"),
    ('{"OTIO_SCHEMA": "Timeline.1", "tracks": ', ".otio", [], "could not be read as OpenTimelineIO"),
])
def test_unsupported_and_corrupt_files_are_a_sentence_and_cost_nothing(service, tmp_path, content, suffix,
                                                                        extra, says, capsys):
    bad = tmp_path / f"bad{suffix}"
    bad.write_text(content)
    assert cli(["fit", "--timeline", str(bad), *extra]) == 2
    assert re.search(says, capsys.readouterr().err)
    assert service.state.charges == [] and not service.requests_to("POST", "/api")


def test_a_timeline_without_clips_is_refused(service, tmp_path, capsys):
    empty = tmp_path / "empty.otio"
    timeline = otio.schema.Timeline(name="Nothing yet")
    timeline.tracks.append(otio.schema.Track(name="V1"))
    otio.adapters.write_to_file(timeline, str(empty))
    assert cli(["fit", "--timeline", str(empty)]) == 2
    assert re.search("no video or audio clips", capsys.readouterr().err)
    assert service.state.charges == []


def test_out_timeline_needs_an_export_and_a_writable_place(service, tmp_path, capsys):
    assert cli(["fit", "--duration", "20", "--out-timeline", str(tmp_path / "x.otio")]) == 2
    assert re.search("writes back an editor's export", capsys.readouterr().err)
    assert cli(["fit", "--timeline", str(SAMPLES / "multitrack.otio"), "--out-timeline",
             str(tmp_path / "missing-folder" / "x.otio")]) == 2
    assert re.search("cannot be written", capsys.readouterr().err)
    assert service.state.charges == []


def _resolve_export(path):
    """A timeline as Resolve exports it (File > Export > Timeline > OTIO): 23.976 written as
    23.976, the start at 01:00:00:00, markers on the stack with Resolve's own metadata."""
    rate = 23.976
    timeline = otio.schema.Timeline(name="Trailer v3", global_start_time=otio.opentime.RationalTime(86400, rate))
    video = otio.schema.Track(name="Video 1")
    for name, length in (("A001_C003", 600), ("A001_C007", 839)):
        video.append(otio.schema.Clip(name=name, source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(length, rate))))
    timeline.tracks.append(video)
    timeline.tracks.markers.append(otio.schema.Marker(
        name="tense build", color=otio.schema.MarkerColor.RED,
        marked_range=otio.opentime.TimeRange(otio.opentime.RationalTime(600, rate), otio.opentime.RationalTime(1, rate)),
        metadata={"Resolve_OTIO": {"Keywords": [], "Note": "the chase starts"}}))
    otio.adapters.write_to_file(timeline, str(path))


def test_resolve_free_round_trip_export_fit_import(service, tmp_path):
    # Resolve Free 21.1 lists no scripts: export the timeline, score it, import it back.
    export = tmp_path / "Trailer v3.otio"
    _resolve_export(export)
    model = interchange.read(export).model
    assert (model.fps.fraction, model.start_frame, model.duration_frames) == (Fraction(24000, 1001), 86400, 1439)
    (marker,) = model.markers
    assert (marker.frame, marker.name, marker.note, marker.color) == (600, "tense build", "the chase starts", "Red")
    out = tmp_path / "Trailer v3 + music.otio"
    assert cli(["fit", "--yes", "--timeline", str(export), "--model", "sonic-v4", "--sample-rate", "22050",
                "-o", str(tmp_path / "score.wav"), "--out-timeline", str(out)]) == 0
    back = otio.adapters.read_from_file(str(out))
    assert back.global_start_time.value == 86400 and len(back.tracks.markers) == 1
    (clip,) = _ours(back)
    assert round(clip.range_in_parent().duration.value) == 1439


def test_ntsc_drop_frame_is_recognised(tmp_path):
    # The same Premiere export, set to 29.97 drop frame as Premiere writes it.
    text = (SAMPLES / "premiere_example.xml").read_text()
    text = text.replace("<ntsc>FALSE</ntsc>", "<ntsc>TRUE</ntsc>").replace(
        "<displayformat>NDF</displayformat>", "<displayformat>DF</displayformat>")
    (tmp_path / "df.xml").write_text(text)
    model = interchange.read(tmp_path / "df.xml").model
    assert model.fps.fraction == Fraction(30000, 1001) and model.fps.drop_frame
    assert model.duration_frames == 1271 and model.duration_timecode == "00:00:42;11"
