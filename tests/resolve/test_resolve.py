"""The Resolve scripts against a faithful fake of Resolve (fake_resolve.py) and the emulator."""
from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import pytest

from fake_resolve import CALLS, README_API, UI_API, FakeResolve, FakeTimeline
from scorefit.core import bars, config
from scorefit.core.timeline import FrameRate
from scorefit.resolve import adapter, app

ROOT = Path(__file__).resolve().parents[2]


def _resolve(rate="24", start="01:00:00:00", frames=2880, version=(20, 2), studio=False,
             project_rate=None, **kw):
    timeline = FakeTimeline(None, "Trailer", rate, start, frames, **kw)
    resolve = FakeResolve(version=version, studio=studio, timeline=timeline)
    if project_rate:      # a timeline with its own settings, in a project of another rate
        resolve.project.settings["timelineFrameRate"] = project_rate
    return resolve, timeline


def _wait_status(items):
    """Dialog steps until a job has ended and its outcome is shown."""
    for _ in range(3000):
        if items["Generate"].Enabled and items["Status"].Text and "·" not in items["Status"].Text:
            return
        yield


def _asked_then_done(window, button, asked, done, nothing_spent):
    """Dialog steps: ``button`` asks first (saying ``asked``) with nothing spent, then the
    second press runs the job to ``done``; then the dialog is closed."""
    items = window.GetItems()
    window.fire(button, "Clicked")
    yield
    assert asked in items["Status"].Text and items[button].Text == f"Confirm {button}", items["Status"].Text
    assert nothing_spent()
    window.fire(button, "Clicked")
    yield
    yield from _wait_status(items)
    assert done in items["Status"].Text, items["Status"].Text
    window.fire("Cancel", "Clicked")
    yield


def _placed(timeline, track):
    return [(i.GetStart(), i.GetDuration()) for i in timeline.tracks[track] if i.clip is not None]


@pytest.mark.parametrize("rate,start,frames", [
    ("24", 86400, 2880), ("29.97", 108000, 3597), ("23.976", 86400, 2877)])
def test_clip_lands_at_the_absolute_start_with_the_timelines_length(service, rate, start, frames, capsys):
    resolve, timeline = _resolve(rate, frames=frames)
    assert timeline.GetStartFrame() == start
    pool = resolve.project.pool
    footage = pool.AddSubFolder(pool.GetRootFolder(), "Footage")
    pool.SetCurrentFolder(footage)
    assert app.main(resolve.namespace()) == 0, capsys.readouterr().out
    assert _placed(timeline, 1) == [(start, frames)]
    assert pool.GetCurrentFolder() is footage                  # the editor's folder is back
    (bin_,) = [f for f in pool.root.subfolders if f.GetName() == "ScoreFit"]
    (clip,) = bin_.clips
    assert clip.GetMetadata("Comments").startswith("ScoreFit: request ")
    assert Path(clip.path).with_suffix(".json").is_file()     # provenance sidecar
    assert "Placed on audio track 1" in capsys.readouterr().out


def test_busy_track_is_skipped(service):
    resolve, timeline = _resolve()
    timeline.occupy(1, 86400 + 100, 50)
    timeline.tracks[2] = []
    assert app.main(resolve.namespace()) == 0
    assert _placed(timeline, 2) == [(86400, 2880)]


def test_locked_track_is_skipped(service):
    resolve, timeline = _resolve()
    timeline.tracks[2] = []
    timeline.SetTrackLock("audio", 1, True)
    assert app.main(resolve.namespace()) == 0
    assert _placed(timeline, 1) == [] and _placed(timeline, 2) == [(86400, 2880)]


@pytest.mark.parametrize("version,kind", [((18, 5), "stereo"), ((19, 1), {"audioType": "stereo"})])
def test_no_free_track_adds_a_stereo_track(service, version, kind):
    resolve, timeline = _resolve(version=version, studio=True)
    resolve.fusion._ui = None          # this test is about tracks: console mode
    timeline.occupy(1, 86400 + 2000, 1000)
    assert app.main(resolve.namespace()) == 0
    assert timeline.added_types == [kind]
    assert _placed(timeline, 2) == [(86400, 2880)]


@pytest.mark.parametrize("empty", [False, True])
def test_silent_drop_is_detected_and_the_clip_stays_in_the_bin(service, capsys, empty):
    resolve, timeline = _resolve()
    resolve.drop_next_append = True
    resolve.drop_returns_empty = empty
    assert app.main(resolve.namespace()) == 1
    out = capsys.readouterr().out
    assert "did not place the soundtrack" in out and "ScoreFit bin" in out
    assert _placed(timeline, 1) == []
    assert [f.clips for f in resolve.project.pool.root.subfolders if f.name == "ScoreFit"][0]


def test_free_19_1_runs_in_console_mode(service, capsys):
    resolve, timeline = _resolve(version=(19, 1), studio=False)
    assert resolve.fusion.UIManager is None
    assert app.main(resolve.namespace()) == 0
    out = capsys.readouterr().out
    assert "console mode" in out and "Done" in out and "Placed" in out


def test_resolve_18_0_gets_a_clear_message_and_nothing_changes(service, capsys):
    resolve, timeline = _resolve(version=(18, 0), studio=True)
    assert app.main(resolve.namespace()) == 1
    assert "needs DaVinci Resolve 18.5 or newer" in capsys.readouterr().out
    assert resolve.project.pool.root.subfolders == [] and service.state.log == []


@pytest.mark.parametrize("version", [(19, 1), (20, 2), (21, 1)])
def test_studio_dialog_generates_and_places(service, version):
    resolve, timeline = _resolve(version=version, studio=True)
    ui = resolve.fusion.UIManager

    def actions(window):
        items = window.GetItems()
        assert "Instrumental" in items["Prompt"].PlainText      # the derived prompt, editable
        # which end-frame convention was assumed, as the console says too
        assert "frames 86400 to 89280 (end exclusive)" in items["Timeline"].Text
        assert "credits" in items["Plan"].Text
        items["Prompt"].PlainText += "\nWarm analog synths."
        window.fire("Generate", "Clicked")
        for _ in range(3000):
            if "Placed" in items["Status"].Text or "did not" in items["Status"].Text:
                break
            yield
        assert "Placed on audio track 1" in items["Status"].Text, items["Status"].Text
        window.fire("Cancel", "Clicked")     # "Close"
        yield
    ui.actions = actions
    assert app.main(resolve.namespace()) == 0
    assert _placed(timeline, 1) == [(86400, 2880)]
    clip = timeline.tracks[1][0].clip
    assert "Warm analog synths" in clip.GetMetadata("Comments")
    assert clip.GetClipProperty("Comments") == clip.GetMetadata("Comments")    # the Comments column too


def test_dialog_cancel_places_nothing(service):
    resolve, timeline = _resolve(studio=True)

    def actions(window):
        items = window.GetItems()
        window.fire("Generate", "Clicked")
        yield
        window.fire("Cancel", "Clicked")
        for _ in range(500):
            if items["Status"].Text.startswith("Cancelled"):
                break
            yield
        assert items["Status"].Text.startswith("Cancelled")
        window.fire("Cancel", "Clicked")
        yield
    resolve.fusion.UIManager.actions = actions
    assert app.main(resolve.namespace()) == 0
    assert _placed(timeline, 1) == []


def test_reading_markers_rates_and_drop_frame():
    resolve, timeline = _resolve("29.97", frames=1800, drop_frame=True)
    timeline.AddMarker(0.0, "Blue", "calm", "", 1.0)
    timeline.AddMarker(899.0, "Red", "action", "chase", 24.0)
    model = adapter.read_timeline(timeline)
    assert (model.fps.num, model.fps.den, model.fps.drop_frame) == (30000, 1001, True)
    assert (model.start_frame, model.duration_frames) == (108000, 1800)
    assert [(m.frame, m.name, m.color, m.duration) for m in model.markers] == [
        (0, "calm", "Blue", 1), (899, "action", "Red", 24)]
    timeline.settings.update(timelineFrameRate="29.97 DF", timelineDropFrameTimecode="0")
    assert adapter.read_timeline(timeline).fps.drop_frame


def test_adapter_calls_only_what_the_readme_lists(service):
    CALLS.clear()
    resolve, timeline = _resolve(version=(20, 2), studio=True)
    resolve.fusion._ui = None
    timeline.occupy(1, 86400, 10)
    timeline.tracks[2] = []
    app.main(resolve.namespace())
    assert CALLS
    unknown = {call for call in CALLS if call[1] not in README_API.get(call[0], {})}
    assert not unknown
    # And statically: every Capitalised call in the Resolve layer is a README or UIManager name.
    listed = {m for methods in README_API.values() for m in methods} | UI_API
    source = "".join(p.read_text() for p in (ROOT / "addon" / "resolve").glob("*.py"))
    called = set(re.findall(r"\.([A-Z][A-Za-z]+)\(", source))
    everything = "".join(p.read_text() for p in (ROOT / "addon").rglob("*.py"))
    ours = set(re.findall(r"^class (\w+)", everything, re.M))   # adapter.ResolveError(…) is ScoreFit's
    assert called - listed - ours == set()


def test_dialog_offers_start_afresh_after_a_lost_answer_and_pays_once_more_only_then(service):
    resolve, timeline = _resolve(studio=True)
    service.inject("reset", "POST /api/v1/sonic/create")
    creates = lambda: len(service.requests_to("POST", "/api/v1/sonic/create"))  # noqa: E731

    def actions(window):
        items = window.GetItems()
        window.fire("Generate", "Clicked")
        yield from _wait_status(items)
        assert "Start Afresh" in items["Status"].Text and items["Generate"].Text == "Start Afresh"
        assert creates() == 1
        window.fire("Generate", "Clicked")
        yield
        yield from _wait_status(items)
        assert "Placed on audio track 1" in items["Status"].Text, items["Status"].Text
        assert creates() == 2 and items["Generate"].Text == "Generate"
        window.fire("Cancel", "Clicked")
        yield
    resolve.fusion.UIManager.actions = actions
    assert app.main(resolve.namespace()) == 0
    assert _placed(timeline, 1) == [(86400, 2880)]


def test_console_mode_says_how_to_start_afresh(service, capsys):
    resolve, timeline = _resolve(version=(19, 1), studio=False)
    service.inject("reset", "POST /api/v1/sonic/create")
    assert app.main(resolve.namespace()) == 1
    out = capsys.readouterr().out
    assert '"start_afresh": true' in out and "nothing was placed" not in out
    assert app.main(resolve.namespace()) == 1         # not yet: the lost request is never re-sent
    assert len(service.requests_to("POST", "/api/v1/sonic/create")) == 1
    config.save_settings(start_afresh=True)
    assert app.main(resolve.namespace()) == 0
    assert _placed(timeline, 1) == [(86400, 2880)]
    assert len(service.requests_to("POST", "/api/v1/sonic/create")) == 2
    assert config.load_settings()["start_afresh"] is False      # one run only


def test_console_mode_refuses_a_plan_above_the_credit_limit_and_says_how_to_raise_it(service, capsys):
    from scorefit.core import config
    resolve, timeline = _resolve(version=(19, 1), studio=False)
    config.save_settings(credit_limit=20)
    assert app.main(resolve.namespace()) == 1
    out = capsys.readouterr().out
    assert "Nothing was sent" in out and '"credit_limit"' in out and str(config.config_path()) in out
    assert not [r for r in service.state.log if r["method"] == "POST"] and _placed(timeline, 1) == []
    config.save_settings(credit_limit=config.DEFAULTS["credit_limit"])
    assert app.main(resolve.namespace()) == 0
    assert _placed(timeline, 1) == [(86400, 2880)]


@pytest.mark.parametrize("studio", [False, True])
def test_an_empty_timeline_gets_a_plain_message_and_nothing_is_sent(service, capsys, studio):
    resolve, timeline = _resolve(version=(19, 1), studio=studio, frames=0)
    assert app.main(resolve.namespace()) == 1
    out = capsys.readouterr().out
    assert "is empty: put the cut on it first" in out and "Unexpected error" not in out
    assert "Paid steps" not in out and not [r for r in service.state.log if r["method"] == "POST"]


@pytest.mark.parametrize("studio", [False, True])
def test_the_alternate_take_lands_disabled_on_the_next_free_track(service, studio, capsys):
    config.save_settings(alternate=True)
    resolve, timeline = _resolve(version=(20, 2) if studio else (19, 1), studio=studio)
    timeline.occupy(2, 86400 + 100, 10)            # track 2 is busy: the take goes to a new track 3
    if studio:
        def actions(window):
            items = window.GetItems()
            window.fire("Generate", "Clicked")
            yield
            yield from _wait_status(items)
            assert "alternate take is on audio track 3 (added), disabled" in items["Status"].Text
            window.fire("Cancel", "Clicked")
            yield
        resolve.fusion.UIManager.actions = actions
    assert app.main(resolve.namespace()) == 0, capsys.readouterr().out
    assert _placed(timeline, 1) == [(86400, 2880)] and _placed(timeline, 3) == [(86400, 2880)]
    main, = timeline.tracks[1]
    take, = timeline.tracks[3]
    assert main.GetClipEnabled() and not take.GetClipEnabled()
    assert take.clip.comments.startswith("ScoreFit alternate take: request ")
    assert adapter.placed_soundtrack(timeline).track == 1          # Refit finds the soundtrack
    assert [c["what"] for c in service.state.charges].count("wav") == 2


def test_running_again_finds_the_clip_wherever_the_editor_moved_it(service, capsys):
    resolve, timeline = _resolve(version=(19, 1), studio=False)
    assert app.main(resolve.namespace()) == 0
    pool = resolve.project.pool
    (bin_,) = [f for f in pool.root.subfolders if f.name == "ScoreFit"]
    clip = bin_.clips.pop()
    pool.root.clips.append(clip)                 # the editor tidied it into the root bin
    timeline.tracks[1].clear()                   # and took it off the timeline
    assert app.main(resolve.namespace()) == 0, capsys.readouterr().out
    assert _placed(timeline, 1) == [(86400, 2880)]
    assert timeline.tracks[1][0].clip is clip and not bin_.clips     # the same clip, not a new import


def _charges(service) -> list[str]:
    return [c["what"] for c in service.state.charges]


def test_running_twice_does_not_stack_a_second_copy(service, capsys):
    resolve, timeline = _resolve()
    assert app.main(resolve.namespace()) == 0
    assert app.main(resolve.namespace()) == 0
    assert "already on audio track 1" in capsys.readouterr().out
    assert _placed(timeline, 1) == [(86400, 2880)] and timeline.GetTrackCount("audio") == 1
    assert _charges(service) == ["create_music", "wav"]


def test_refit_after_a_recut_replaces_the_clip_on_its_track_free_then_one_extend(service, capsys):
    resolve, timeline = _resolve()
    timeline.tracks[2] = []
    timeline.occupy(1, 86400 + 3000, 100)              # something later on track 1
    assert app.main(resolve.namespace()) == 0
    assert _placed(timeline, 1) == [(86400, 2880)]
    timeline.frames = 2400                             # the editor recut: shorter
    assert app.main(resolve.namespace(), refit=True) == 0, capsys.readouterr().out
    assert "Replaced the soundtrack on audio track 1" in capsys.readouterr().out
    assert _placed(timeline, 1) == [(86400, 2400)] and _placed(timeline, 2) == []
    assert _charges(service) == ["create_music", "wav"]          # free
    timeline.frames = 24 * 400                         # longer than the song; track 1 busy at +3000
    assert app.main(resolve.namespace(), refit=True) == 1
    assert "not free" in capsys.readouterr().out
    assert _placed(timeline, 1) == [(86400, 2400)]               # nothing changed
    timeline.tracks[1] = [i for i in timeline.tracks[1] if i.clip is not None]
    assert app.main(resolve.namespace(), refit=True) == 0, capsys.readouterr().out
    assert _placed(timeline, 1) == [(86400, 9600)]
    spent = _charges(service)
    assert spent.count("create_music") == 1 and spent[-2:] == ["concat_music", "wav"]
    assert set(spent[2:-2]) == {"extend_music"}


def test_a_timeline_changed_during_the_job_is_not_placed_on(service, capsys, monkeypatch):
    resolve, timeline = _resolve()
    real_finish = app.finish

    def recut_then_finish(*args, **kwargs):
        timeline.frames = 2000                         # the editor recut while ScoreFit worked
        return real_finish(*args, **kwargs)
    monkeypatch.setattr(app, "finish", recut_then_finish)
    assert app.main(resolve.namespace()) == 1
    out = capsys.readouterr().out
    assert "changed while ScoreFit worked" in out and "Refit" in out
    assert _placed(timeline, 1) == []


def test_refit_in_the_dialog_shows_a_paid_refits_cost_first(service):
    resolve, timeline = _resolve(studio=True)
    assert app.console(resolve, resolve.project, timeline) == 0
    timeline.frames = 24 * 400

    def actions(window):
        assert window.GetItems()["Refit"].Enabled
        yield from _asked_then_done(window, "Refit", "credits", "Replaced the soundtrack on audio track 1",
                                    lambda: _charges(service) == ["create_music", "wav"])
    resolve.fusion.UIManager.actions = actions
    assert app.main(resolve.namespace()) == 0
    assert _placed(timeline, 1) == [(86400, 9600)]


@pytest.mark.parametrize("rate,drop,project_rate,frames", [
    ("23.976", False, "24", 1439), ("29.97", True, "25", 1798), ("24", False, "23.976", 2881),
    ("59.94", False, "50", 3001)])
def test_exact_length_when_the_project_rate_is_not_the_timelines(service, rate, drop, project_rate, frames,
                                                                  capsys):
    # The imported file takes the project's rate, and Resolve floors twice: without care the
    # clip lands a frame short (the 1438 of 1439).
    resolve, timeline = _resolve(rate, frames=frames, drop_frame=drop, project_rate=project_rate)
    assert app.main(resolve.namespace()) == 0, capsys.readouterr().out
    start = timeline.GetStartFrame()
    assert _placed(timeline, 1) == [(start, frames)]
    (item,) = timeline.tracks[1]
    assert float(item.clip.fps) == pytest.approx(float(FrameRate.parse(project_rate).fraction))
    assert f"{frames} frames" in capsys.readouterr().out


def test_source_frames_is_the_least_that_floors_to_the_timelines_length():
    for timeline_rate, clip_rate in ((Fraction(24000, 1001), Fraction(24)), (Fraction(30000, 1001), Fraction(25)),
                                     (Fraction(24), Fraction(24000, 1001)), (Fraction(25), Fraction(25))):
        for frames in (1, 2, 1439, 1798, 86399):
            source = adapter.source_frames(frames, timeline_rate, clip_rate)
            assert math.floor(source / clip_rate * timeline_rate) >= frames
            assert math.floor((source - 1) / clip_rate * timeline_rate) < frames


def test_the_dialog_places_and_cancels_with_timers_that_never_fire(service):
    # ui.Timer is not documented; where it does not fire, Check Progress does its work.
    resolve, timeline = _resolve(studio=True)
    resolve.fusion.UIManager.timers_fire = False
    service.state.speed = 0.02                      # slow enough to cancel midway

    def actions(window):
        items = window.GetItems()
        assert not items["Check"].Enabled
        window.fire("Generate", "Clicked")
        yield
        assert "Check Progress" in items["Status"].Text and items["Check"].Enabled
        window.fire("Cancel", "Clicked")            # Cancel works with no timer
        yield
        assert items["Status"].Text.startswith("Cancelled") and items["Generate"].Enabled
        service.state.speed = 0.002
        window.fire("Generate", "Clicked")
        yield
        for _ in range(3000):
            window.fire("Check", "Clicked")
            if items["Generate"].Enabled:
                break
            yield
        assert "Placed on audio track 1" in items["Status"].Text, items["Status"].Text
        assert not items["Check"].Enabled
        window.fire("Cancel", "Clicked")
        yield
    resolve.fusion.UIManager.actions = actions
    assert app.main(resolve.namespace()) == 0
    assert _placed(timeline, 1) == [(86400, 2880)]


@pytest.mark.parametrize("kind", ["bars", "phrases"])
def test_bar_markers_on_the_clip_follow_the_fit_report(service, kind, capsys):
    config.save_settings(clip_markers=kind)
    resolve, timeline = _resolve(version=(19, 1))      # the free edition: console mode
    assert app.main(resolve.namespace()) == 0
    (item,) = timeline.tracks[1]
    marked = item.GetMarkers()
    assert marked and "markers on the clip" in capsys.readouterr().out
    sidecar = json.loads(Path(item.clip.path).with_suffix(".json").read_text())
    report = sidecar["fit"]["primary"]
    expected = [m.frame for m in bars.marks(report, Fraction(24), 2880, kind == "phrases")]
    assert sorted(int(f) for f in marked) == expected
    names = [m["name"] for m in marked.values()]
    assert all(n.startswith("SF phrase" if kind == "phrases" else "SF ") for n in names)
    assert {m["color"] for m in marked.values()} <= {"Green", "Blue"}
    assert len(marked) < len(report["bars"]) if kind == "phrases" else len(marked) == len(expected)


def test_the_dialog_asks_once_more_before_paying_for_a_one_frame_cut(service):
    resolve, timeline = _resolve(studio=True, frames=1)

    def actions(window):
        assert "only 1 frame" in window.GetItems()["Plan"].Text
        yield from _asked_then_done(window, "Generate", "only 1 frame", "Placed on audio track 1",
                                    lambda: not service.requests_to("POST", "/api"))
    resolve.fusion.UIManager.actions = actions
    assert app.main(resolve.namespace()) == 0
    assert _placed(timeline, 1) == [(86400, 1)]


def test_generate_after_a_recut_points_to_refit_and_buys_nothing(service, capsys):
    resolve, timeline = _resolve()
    assert app.main(resolve.namespace()) == 0
    spent = _charges(service)
    timeline.frames = 960                              # the editor recut
    assert app.main(resolve.namespace()) == 1
    out = capsys.readouterr().out
    assert "already has a ScoreFit soundtrack on audio track" in out and "Refit Soundtrack" in out
    assert _charges(service) == spent and len([i for t in timeline.tracks.values() for i in t if i.clip]) == 1


def test_comments_the_editor_rewrote_do_not_hide_the_soundtrack(service, capsys):
    from scorefit.resolve import adapter
    resolve, timeline = _resolve()
    assert app.main(resolve.namespace()) == 0
    placed = adapter.placed_soundtrack(timeline)
    key = placed.request_key
    placed.item.GetMediaPoolItem().SetClipProperty("Comments", "approved by the director")
    placed.item.GetMediaPoolItem().SetMetadata("Comments", "approved by the director")
    found = adapter.placed_soundtrack(timeline)
    assert found is not None and found.request_key == key          # from the sidecar beside the file
    timeline.frames = 2400
    assert app.main(resolve.namespace(), refit=True) == 0, capsys.readouterr().out
    assert _placed(timeline, found.track) == [(86400, 2400)]
