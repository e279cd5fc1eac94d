"""The whole job against the emulator: extend-to-fit, journal, resume, cancel, failures."""
import json
import signal
import subprocess
import sys
import textwrap

import pytest
from pydub import AudioSegment

from scorefit.core.library import Library
from scorefit.core.musicapi import Cancelled, MusicAPIClient, OutcomeUnknownError, TaskFailedError
from scorefit.core.pipeline import CancelToken, Pipeline, PollSchedule
from scorefit.core.provenance import LICENCE_NOTE, licence_for
from scorefit.core.plan import Settings, make_plan
from scorefit.core.prompt import derive_prompt
from scorefit.core.timeline import FrameRate, Marker, Timeline
from scorefit.emulator import DEFAULT_KEY, Emulator

from support import FAST_RETRY, SPEED, until


def plan_for(seconds, url, fps="24", markers=(), **settings):
    rate = FrameRate.parse(fps)
    tl = Timeline(rate, round(seconds * rate.fraction), start_frame=1, name="Test cut",
                  markers=tuple(markers))
    return make_plan(tl, derive_prompt(tl), Settings(model="sonic-v4", **settings))


def paid(emulator):
    return [c for c in emulator.state.charges if not c["what"].startswith("refund")]


def test_long_timeline_is_extended_joined_and_fitted_exactly(client, library, schedule, emulator):
    plan = plan_for(250, emulator.url, fps="23.976", markers=[Marker(24 * 120, "epic chase")])
    events = []
    result = Pipeline(client, library, schedule=schedule, clock=emulator.clock, on_progress=events.append).run(plan)
    out = AudioSegment.from_wav(result.primary)
    assert int(out.frame_count()) == plan.timeline.duration_samples
    kinds = [c["what"] for c in paid(emulator)]
    assert kinds.count("create_music") == 1 and kinds.count("extend_music") >= 2
    assert kinds.count("concat_music") == 2 and kinds.count("wav") == 2
    assert sum(c["credits"] for c in paid(emulator)) <= plan.max_credits
    stages = [e.stage for e in events]
    assert stages[0] == "Generating" and "Joining" in stages and stages[-1] == "Done"
    assert any(s.startswith("Extending 1/") for s in stages) and "Fitting" in stages
    assert all(0 <= e.fraction <= 1 for e in events)
    prov = json.loads(result.sidecar.read_text())
    assert prov["service"] == emulator.url and prov["clips"]["primary"]
    assert [t["kind"] for t in prov["tasks"]][:2] == ["create", "extend"]
    assert prov["request"]["prompt"] == plan.spec.prompt
    # An emulator's placeholder never claims the rights only the paid service grants.
    assert prov["origin"] == "emulator" and "no commercial-use rights" in prov["licence"]
    assert licence_for("https://api.musicapi.ai") == ("musicapi", LICENCE_NOTE)
    assert "rights for commercial use" in LICENCE_NOTE
    assert result.alternate and int(AudioSegment.from_wav(result.alternate).frame_count()) == \
        plan.timeline.duration_samples
    # Extends continued inside the clips (whole seconds), and the mood change was used: an
    # extend that starts after the "epic chase" marker (120 s) asks for it, one before does not.
    extends = [s for s in library.job(plan.request_key(emulator.url)).steps if s["kind"] == "extend"]
    assert all(isinstance(s["body"]["continue_at"], int) for s in extends)
    sections = {s["body"]["continue_at"] + offset: s["body"]["prompt"].splitlines()[1]
                for offset, s in zip(_song_offsets(extends), extends)}
    assert any(at >= 120 for at in sections) and any(at < 120 for at in sections), sections
    for at, section in sections.items():
        assert ("epic" in section) == (at >= 120), (at, section)


def _song_offsets(extends):
    """Where each extend's clip started in the song: the previous extend's continue point."""
    offsets, at = [], 0
    for step in extends:
        offsets.append(at)
        at += step["body"]["continue_at"]
    return offsets


def test_same_request_is_served_from_the_library(client, library, schedule, emulator):
    plan = plan_for(40, emulator.url)
    first = Pipeline(client, library, schedule=schedule, clock=emulator.clock).run(plan)
    spent = len(emulator.state.charges)
    again = Pipeline(client, library, schedule=schedule, clock=emulator.clock).run(plan)
    assert again.from_library and not first.from_library
    assert len(emulator.state.charges) == spent and again.primary == first.primary
    seeded = Pipeline(client, library, schedule=schedule, clock=emulator.clock).run(plan_for(40, emulator.url, seed=7))
    assert not seeded.from_library and len(emulator.state.charges) > spent


def test_polling_sees_the_finish_within_one_interval_and_polls_sparsely_before_the_forecast(
        client, library, emulator):
    schedule = PollSchedule(time_scale=SPEED)
    pipeline = Pipeline(client, library, schedule=schedule, clock=emulator.clock)
    pipeline.run(plan_for(30, emulator.url, alternate=False))
    (task_id, _polls), = pipeline.polls.items()
    task = emulator.state.tasks[task_id]
    ready = min(c.ready_at for c in task.clips)                      # the first take done is enough
    seen = [r["clock"] for r in emulator.state.log if r["path"].endswith(task_id)]
    lag = (min(t for t in seen if t >= ready) - ready) / SPEED
    assert lag <= schedule.interval + 1e-6                           # on the emulator's clock: exact
    expected = (seen[0] - task.created) / SPEED * 2 / schedule.dense_from   # the first wait is half the sparse stretch
    early = [t for t in seen if (t - task.created) / SPEED < schedule.dense_from * expected - 1e-6]
    assert len(early) <= 2


def test_cancel_mid_job_leaves_no_file_and_resumes_without_paying_again(client, library, emulator):
    cancel = CancelToken()
    schedule = PollSchedule(time_scale=SPEED)
    plan = plan_for(30, emulator.url)
    pipeline = Pipeline(client, library, schedule=schedule, clock=emulator.clock, cancel=cancel,
                        on_progress=lambda p: p.stage == "Generating" and p.elapsed > 0 and cancel.cancel())
    with pytest.raises(Cancelled):
        pipeline.run(plan)
    folder = library.job(plan.request_key(emulator.url)).folder
    assert not folder.exists() or not list(folder.glob("*.wav"))
    result = Pipeline(client, library, schedule=schedule, clock=emulator.clock).run(plan)
    assert [c["what"] for c in paid(emulator)].count("create_music") == 1
    assert result.primary.exists()


def test_failed_task_is_reported_then_a_retry_starts_afresh(client, library, schedule, emulator):
    emulator.inject("task_failed", "POST /api/v1/sonic/create", message="model overloaded")
    plan = plan_for(30, emulator.url)
    with pytest.raises(TaskFailedError, match="model overloaded") as caught:
        Pipeline(client, library, schedule=schedule, clock=emulator.clock).run(plan)
    assert "refunded" in str(caught.value) and emulator.state.credits == 1000
    Pipeline(client, library, schedule=schedule, clock=emulator.clock).run(plan)
    assert len(emulator.requests_to("POST", "/api/v1/sonic/create")) == 2   # the failed one and a new one


def test_one_failed_clip_still_gives_a_soundtrack(client, library, schedule, emulator):
    emulator.inject("clip_failed", "POST /api/v1/sonic/create")
    result = Pipeline(client, library, schedule=schedule, clock=emulator.clock).run(plan_for(30, emulator.url))
    assert result.primary.exists() and result.alternate is None


def test_lost_answer_is_never_resent(library, schedule, emulator):
    client = MusicAPIClient(DEFAULT_KEY, emulator.url,
                            retry=FAST_RETRY.__class__(attempts=3, base_delay=0.01, read_timeout=0.3))
    emulator.inject("delay", "POST /api/v1/sonic/create", delay=0.8)
    plan = plan_for(30, emulator.url)
    with pytest.raises(OutcomeUnknownError):
        Pipeline(client, library, schedule=schedule, clock=emulator.clock).run(plan)
    with pytest.raises(OutcomeUnknownError, match="earlier run"):
        Pipeline(client, library, schedule=schedule, clock=emulator.clock).run(plan)
    until(lambda: emulator.state.charged() == 15, "the delayed create")
    assert len(emulator.requests_to("POST", "/api/v1/sonic/create")) == 1
    assert library.pending()[0].key == plan.request_key(emulator.url)


def test_mp3_without_a_decoder_is_refused_before_spending(client, library, schedule, emulator, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    from scorefit.core.audio import DecoderMissing
    with pytest.raises(DecoderMissing, match="WAV"):
        Pipeline(client, library, schedule=schedule, clock=emulator.clock).run(plan_for(30, emulator.url, output="mp3"))
    assert emulator.state.charges == []


RESUME_SCRIPT = textwrap.dedent("""
    import sys
    from scorefit.core.library import Library
    from scorefit.core.musicapi import MusicAPIClient
    from scorefit.core.pipeline import Pipeline, PollSchedule
    from scorefit.core.plan import Settings, make_plan
    from scorefit.core.prompt import derive_prompt
    from scorefit.core.timeline import FrameRate, Timeline
    url, root = sys.argv[1], sys.argv[2]
    tl = Timeline(FrameRate(24), 24 * 200, start_frame=1, name="Resume me")
    plan = make_plan(tl, derive_prompt(tl), Settings(model="sonic-v4"))
    Pipeline(MusicAPIClient("emulator-key", url), Library(root),
             schedule=PollSchedule(time_scale=0.05)).run(plan)
""")


def test_resume_after_the_process_is_killed_mid_poll(tmp_path):
    with Emulator(speed=0.05, sample_rate=22050, seed=3) as emulator:
        root = tmp_path / "lib"
        child = subprocess.Popen([sys.executable, "-c", RESUME_SCRIPT, emulator.url, str(root)])
        try:
            def extending():                       # the first extend is being polled
                jobs = list((root / "jobs").glob("*.json")) if (root / "jobs").exists() else []
                steps = json.loads(jobs[0].read_text())["steps"] if jobs else []
                return any(s["kind"] == "extend" and s["state"] == "polling" for s in steps)
            until(extending, "the child reaching an extend")
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        posts_before = len(emulator.requests_to("POST", "/api/v1/sonic/create"))
        tl = Timeline(FrameRate(24), 24 * 200, start_frame=1, name="Resume me")
        plan = make_plan(tl, derive_prompt(tl), Settings(model="sonic-v4"))
        result = Pipeline(MusicAPIClient(DEFAULT_KEY, emulator.url), Library(root),
                          schedule=PollSchedule(time_scale=0.05)).run(plan)
        assert int(AudioSegment.from_wav(result.primary).frame_count()) == tl.duration_samples
        steps = Library(root).job(plan.request_key(emulator.url)).steps
        # Nothing already sent was sent again: create and the first extend were only polled.
        kinds = [c["what"] for c in paid(emulator)]
        assert kinds.count("create_music") == 1
        assert kinds.count("extend_music") == sum(1 for s in steps if s["kind"] == "extend")
        # After the kill, only the steps not yet sent were sent (the first extend was already out).
        sent_after = len(emulator.requests_to("POST", "/api/v1/sonic/create")) - posts_before
        assert sent_after == sum(1 for s in steps if s["kind"] in ("extend", "concat")) - 1


def test_different_music_of_the_same_length_never_shares_a_file_name(client, library, schedule, emulator):
    calm = plan_for(40, emulator.url, markers=[Marker(0, "calm intro")])
    epic = plan_for(40, emulator.url, markers=[Marker(0, "epic chase")])
    first = Pipeline(client, library, schedule=schedule, clock=emulator.clock).run(calm)
    second = Pipeline(client, library, schedule=schedule, clock=emulator.clock).run(epic)
    assert first.primary.name != second.primary.name
    assert first.sidecar.name != second.sidecar.name
    assert first.alternate.name != second.alternate.name
