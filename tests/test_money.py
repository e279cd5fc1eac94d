"""The money rules (docs/musicapi.md, "Paid requests"), each replayed through the one job
path every host runs, and checked against the emulator's ledger.

Run with ``-s`` to see each case's ledger.
"""
import shutil

import pytest

from scorefit.core.library import Library
from scorefit.core.plan import Settings, make_plan
from scorefit.core.prompt import derive_prompt
from scorefit.core.session import BackgroundJob, Destination, Service
from scorefit.core.timeline import FrameRate, Marker, Timeline

from support import SPEED


def plan(seconds=30, markers=(), **settings):
    tl = Timeline(FrameRate(24), 24 * seconds, name="Money", markers=tuple(markers))
    return make_plan(tl, derive_prompt(tl), Settings(model="sonic-v4", **{"alternate": False, **settings}))


def run(emulator, the_plan, library, *, afresh=False, destination=None):
    service = Service(emulator.url, emulator.key, SPEED, clock=emulator.clock)
    snap = BackgroundJob(the_plan, service, library, start_afresh=afresh, destination=destination).start().wait(every=0.01)
    return snap


def ledger(emulator) -> list:
    charges = [(c["what"], c["credits"]) for c in emulator.state.charges]
    print("ledger:", charges)
    return charges


def posts(emulator, path="/api/v1/sonic/create") -> int:
    return len(emulator.requests_to("POST", path))


@pytest.fixture
def library(tmp_path):
    return Library(tmp_path / "library")


def test_a_502_after_the_service_charged_a_create_is_never_sent_again(emulator, library):
    emulator.inject("gateway", "POST /api/v1/sonic/create", status=502)
    job = plan()
    first = run(emulator, job, library)
    assert first.state == "failed" and first.needs_check
    assert "HTTP 502" in first.error and "may have started and been charged (15 credits)" in first.error
    again = run(emulator, job, library)                  # a plain retry: refused, nothing sent
    assert again.needs_check and "answer was lost" in again.error
    assert ledger(emulator) == [("create_music", 15)] and posts(emulator) == 1
    # Only once the editor has checked (Start Afresh) is the create sent again.
    done = run(emulator, job, library, afresh=True)
    assert done.state == "done"
    assert ledger(emulator) == [("create_music", 15), ("create_music", 15), ("wav", 2)]


def test_a_lost_wav_answer_costs_at_most_one_wav_request_never_a_create(emulator, library):
    emulator.inject("gateway", "POST /api/v1/sonic/wav", status=504)
    job = plan()
    first = run(emulator, job, library)
    assert first.needs_check and "at most 2 credits more, never a new generation" in first.error
    assert ledger(emulator) == [("create_music", 15), ("wav", 2)]
    done = run(emulator, job, library, afresh=True)
    assert done.state == "done", done.error
    # The paid create and its clip were reused: one more WAV request, nothing else.
    assert ledger(emulator) == [("create_music", 15), ("wav", 2), ("wav", 2)]
    assert posts(emulator) == 1 and posts(emulator, "/api/v1/sonic/wav") == 2


def test_an_output_folder_that_cannot_be_written_is_found_before_paying(emulator, library, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    snap = run(emulator, plan(), library, destination=Destination(blocker / "ScoreFit"))
    assert snap.state == "failed" and "output folder" in snap.error and "no credits were spent" in snap.error
    assert ledger(emulator) == [] and posts(emulator) == 0
    # Choosing a writable place runs it, and pays once.
    done = run(emulator, plan(), library, destination=Destination(tmp_path / "out", "score"))
    assert done.state == "done" and (tmp_path / "out" / "score.wav").is_file()
    assert ledger(emulator) == [("create_music", 15), ("wav", 2)]


def test_a_full_library_disk_is_found_before_paying(emulator, library, monkeypatch):
    full = shutil.disk_usage(library.root.parent)._replace(free=10 << 20)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: full)
    snap = run(emulator, plan(), library)
    assert "library folder" in snap.error and "10 MB free" in snap.error
    assert ledger(emulator) == []


def test_the_balance_is_checked_against_the_expected_cost_not_the_maximum(emulator, library):
    job = plan()
    emulator.state.credits = 16           # 16 left, a 17-credit plan (at most 49): refused, nothing sent
    snap = run(emulator, job, library)
    assert snap.state == "failed" and "balance is 16 credits" in snap.error and "expected to spend 17" in snap.error
    assert ledger(emulator) == [] and posts(emulator) == 0
    emulator.state.credits = 17           # exactly the expected cost: it runs
    assert run(emulator, job, library).state == "done" and emulator.state.credits == 0


def test_a_balance_that_runs_out_mid_job_stops_resumably(emulator, library):
    from scorefit.emulator.server import MSG_CREDITS
    long_cut = plan(200)                  # a create and extends
    emulator.inject("http", "POST /api/v1/sonic/create", status=403, message=MSG_CREDITS, task_type="extend_music")
    first = run(emulator, long_cut, library)
    assert first.state == "failed" and "credits are not enough" in first.error
    assert "every step already paid for is kept" in first.error and not first.needs_check
    assert ledger(emulator) == [("create_music", 15)]
    done = run(emulator, long_cut, library)   # topped up (the fault was once): continues, nothing paid twice
    assert done.state == "done", done.error
    kinds = [w for w, _c in ledger(emulator)]
    assert kinds.count("create_music") == 1 and kinds.count("extend_music") >= 1


def test_a_refused_request_is_not_left_pending_and_costs_nothing(emulator, library):
    emulator.inject("http", "POST /api/v1/sonic/create", status=403)
    snap = run(emulator, plan(), library)
    assert "moderation" in snap.error and not snap.needs_check
    assert library.pending() == [] and ledger(emulator) == []


def test_a_rate_limited_create_is_sent_again_because_no_work_started(emulator, library):
    emulator.inject("http", "POST /api/v1/sonic/create", status=429, retry_after=0)
    assert run(emulator, plan(), library).state == "done"
    assert posts(emulator) == 2 and ledger(emulator) == [("create_music", 15), ("wav", 2)]


def test_what_is_left_out_is_named_in_the_outcome(emulator, library):
    emulator.inject("clip_failed", "POST /api/v1/sonic/create", message="bad clip")
    job = plan(markers=[Marker(24 * 10, "calm"), Marker(24 * 45, "late chase")], alternate=True)
    snap = run(emulator, job, library)
    assert snap.state == "done", snap.error
    assert "'late chase' at frame 1080 is past the end of the cut" in snap.message
    assert "The alternate take was left out: its clip failed" in snap.message
    assert snap.result.alternate is None


def test_a_cancel_while_the_service_is_silent_ends_the_job_at_once_and_spends_nothing(library):
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        service = Service(f"http://127.0.0.1:{silent.getsockname()[1]}", "a-key", SPEED)
        job = BackgroundJob(plan(), service, library).start()
        connection, _ = silent.accept()       # the job now waits on the balance, unanswered
        assert job.snapshot().state == "running"
        job.cancel()
        # Half the read timeout (60 s): only the cancel can end the wait this soon.
        assert job.join(30), "the job still waits on the silent server"
        connection.close()
        snap = job.snapshot()
        assert snap.state == "cancelled" and "Cancelled" in snap.error
    finally:
        silent.close()


@pytest.fixture
def stingy():
    """A model whose clips come back half as long as the plan assumes."""
    from scorefit.core.musicapi import ManualClock
    from scorefit.emulator import Emulator
    with Emulator(speed=SPEED, sample_rate=8000, seed=4, clock=ManualClock(), clip_scale=0.5) as emu:
        yield emu


def test_clips_shorter_than_planned_stop_before_spending_what_cannot_finish_and_a_run_again_continues(
        stingy, library):
    long_cut = plan(20 * 60)
    first = run(stingy, long_cut, library)
    assert first.state == "failed" and "shorter than the plan assumed" in first.error
    spent = sum(c for _w, c in ledger(stingy))
    assert spent <= long_cut.max_credits                       # never past what the plan showed
    quoted = int(first.error.split("spends up to ")[1].split(" credits")[0])
    # Nothing that cannot finish was bought: the extends paid all fed the music still short.
    assert not [w for w, _c in ledger(stingy) if w in ("concat_music", "wav")]
    # The editor runs again: each run continues, buys only within what the last stop quoted,
    # and, while the clips keep coming back shorter, stops again with an honest new quote.
    for _ in range(8):
        again = run(stingy, long_cut, library)
        total = sum(c for _w, c in ledger(stingy))
        assert total - spent <= quoted and total > spent, (total, spent, quoted)
        if again.state == "done":
            break
        assert "shorter than the plan assumed" in again.error
        spent, quoted = total, int(again.error.split("spends up to ")[1].split(" credits")[0])
    second = again
    assert second.state == "done", second.error
    kinds = [w for w, _c in ledger(stingy)]
    assert kinds.count("create_music") == 1 and kinds.count("concat_music") == 1 and kinds.count("wav") == 1
    extends = library.job(long_cut.request_key(stingy.url)).steps
    assert len({s["body"]["continue_clip_id"] for s in extends if s["kind"] == "extend"}) == kinds.count("extend_music")


CHILD = """
import sys
from scorefit.core.library import Library
from scorefit.core.plan import Settings, make_plan
from scorefit.core.prompt import derive_prompt
from scorefit.core.session import BackgroundJob, Service
from scorefit.core.timeline import FrameRate, Timeline
url, key, root, speed = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
tl = Timeline(FrameRate(24), 24 * 30, name="Money")
plan = make_plan(tl, derive_prompt(tl), Settings(model="sonic-v4", alternate=False))
snap = BackgroundJob(plan, Service(url, key, speed), Library(root)).start().wait(every=0.05)
print(snap.state, snap.error)
"""


def test_two_processes_on_one_library_never_pay_twice(live_emulator, tmp_path, capsys):
    """One request, two ScoreFits at once: the second waits its turn instead of paying again
    or calling the first one's request lost, and then is served from the library."""
    import subprocess
    import sys
    from support import until
    emulator, root = live_emulator, tmp_path / "shared"
    emulator.state.speed = 0.05                 # tasks of a few seconds: time to overlap
    child = subprocess.Popen([sys.executable, "-c", CHILD, emulator.url, emulator.key, str(root), "0.05"],
                             stdout=subprocess.PIPE, text=True)
    try:
        library = Library(root)
        the_plan = plan()
        key = the_plan.request_key(emulator.url)
        until(lambda: library.job_path(key).exists() and library.job(key).steps, "the other process's create")
        assert library.busy(key)
        mine = run(emulator, the_plan, library)
        assert mine.state == "failed" and "Another ScoreFit is working on this request" in mine.error
        assert not mine.needs_check and "answer was lost" not in mine.error
        assert scorefit_pending(library) == "running in another ScoreFit now"
    finally:
        out, _ = child.communicate(timeout=120)
    assert out.startswith("done"), out
    again = run(emulator, the_plan, library)
    assert again.state == "done" and again.result.from_library
    assert ledger(emulator) == [("create_music", 15), ("wav", 2)]


def scorefit_pending(library) -> str:
    from scorefit import cli
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert cli.main(["pending", "--library", str(library.root)]) == 0
    return out.getvalue().strip().split("(")[-1].rstrip(")")


def test_a_task_the_service_forgot_has_one_way_out_start_afresh(emulator, library):
    emulator.inject("forgotten", "GET /api/v1/sonic/task/", times=1000)
    first = run(emulator, plan(), library)
    assert first.state == "failed" and first.needs_check and "no longer knows the create task" in first.error
    again = run(emulator, plan(), library)                       # a plain run again: refused, nothing sent
    assert again.needs_check and ledger(emulator) == [("create_music", 15)]
    emulator.state.faults.clear()
    done = run(emulator, plan(), library, afresh=True)             # the documented way out
    assert done.state == "done", done.error
    assert [w for w, _c in ledger(emulator)] == ["create_music", "create_music", "wav"]


def test_an_expired_wav_link_costs_one_more_wav_request_never_the_music(emulator, library):
    emulator.inject("gone", "GET /audio/", times=1000)
    first = run(emulator, plan(), library)
    assert first.state == "failed" and "link to the lossless WAV expired" in first.error and "2 credits" in first.error
    emulator.state.faults.clear()
    done = run(emulator, plan(), library)
    assert done.state == "done", done.error
    assert ledger(emulator) == [("create_music", 15), ("wav", 2), ("wav", 2)]


@pytest.mark.skipif(not shutil.which("ffmpeg"), reason="MP3 is decoded by FFmpeg, which this machine lacks")
def test_an_expired_mp3_link_is_refreshed_free_and_a_gone_one_is_said_plainly(emulator, library):
    emulator.inject("gone", "GET /audio/", times=1)               # an MP3 link expired once: polled anew
    mp3 = run(emulator, plan(output="mp3", seed=1), library)
    assert mp3.state == "done", mp3.error
    assert [w for w, _c in ledger(emulator)] == ["create_music"]
    emulator.inject("gone", "GET /audio/", times=1000)             # gone for good: said once, plainly
    gone = run(emulator, plan(output="mp3", seed=2), library)
    assert gone.state == "failed" and "no longer serves the audio" in gone.error
    assert "running again would not help" in gone.error


def test_polls_answered_by_a_web_page_stop_resumably(emulator, library):
    emulator.inject("html", "GET /api/v1/sonic/task/", times=1000)
    first = run(emulator, plan(), library)
    assert first.state == "failed" and "10 answers in a row" in first.error and "never paid for twice" in first.error
    polls = len(emulator.requests_to("GET", "/api/v1/sonic/task/"))
    assert polls == 10
    emulator.state.faults.clear()
    done = run(emulator, plan(), library)
    assert done.state == "done" and ledger(emulator) == [("create_music", 15), ("wav", 2)]


def test_a_cancel_while_fitting_ends_cancelled_and_delivers_nothing(emulator, library, tmp_path):
    """Ctrl-C (or Cancel) reaches every stage: here the last, the fit of paid music."""
    class CancelledWhileFitting(BackgroundJob):
        def _progress(self, progress):
            super()._progress(progress)
            if progress.stage == "Fitting":
                self.cancel()
    service = Service(emulator.url, emulator.key, SPEED, clock=emulator.clock)
    out = tmp_path / "project"
    job = CancelledWhileFitting(plan(), service, library, destination=Destination(out, "score"))
    snap = job.start().wait(every=0.01)
    assert snap.state == "cancelled" and "Paid steps are kept" in snap.error
    assert not out.exists() or not list(out.iterdir())
    assert ledger(emulator) == [("create_music", 15), ("wav", 2)]
    again = run(emulator, plan(), library)        # the paid music is served from the library
    assert again.state == "done" and again.result.from_library


def test_an_mp3_that_cannot_be_decoded_costs_one_wav_request_never_a_new_song(emulator, library):
    """A host's decoder that fails on the paid MP3 (Blender's Sound.write did, on some
    lengths): the downloaded file stays, and the same clip's WAV is fetched instead."""
    from scorefit.core.pipeline import Pipeline
    from scorefit.core.musicapi import MusicAPIClient
    from support import FAST_RETRY

    def broken(src, dst):
        raise RuntimeError("Error decoding the file")
    client = MusicAPIClient(emulator.key, emulator.url, retry=FAST_RETRY)
    mp3 = plan(output="mp3")
    result = Pipeline(client, library, decoder=broken, clock=emulator.clock,
                      schedule=Service(emulator.url, emulator.key, SPEED).schedule).run(mp3)
    assert result.primary.exists()
    assert ledger(emulator) == [("create_music", 15), ("wav", 2)]
    assert any("could not be decoded here" in note and "never a new song" in note for note in result.notes)
    job = library.job(mp3.request_key(emulator.url))
    assert job.source("primary").suffix == ".wav" and (job.folder / f"{job.clips['primary']}.mp3").exists()
    again = Pipeline(client, library, decoder=broken, clock=emulator.clock,
                     schedule=Service(emulator.url, emulator.key, SPEED).schedule).run(mp3)
    assert again.from_library and len(ledger(emulator)) == 2          # nothing paid twice
