"""The vendored client against the emulator over real HTTP on loopback."""
import email.utils

import pytest
import requests

from scorefit.core.musicapi import (
    AuthError, ConfigurationError, DownloadError, InsufficientCreditsError, InvalidRequestError,
    ModerationError, MusicAPIClient, NetworkError, OutcomeUnknownError, RateLimitedError,
    ServiceError, TaskFailedError, TaskNotFoundError,
)
from scorefit.core.musicapi import PollSchedule
from scorefit.core.musicapi.client import RetryPolicy, parse_retry_after

from support import FAST_RETRY, SPEED, until

BODY = {"task_type": "create_music", "custom_mode": True, "mv": "sonic-v4", "prompt": "calm piano",
        "tags": "ambient", "title": "Test", "make_instrumental": True}


def _view(status):
    return "not_ready" if status.not_ready else tuple(c.state for c in status.clips)


def wait_done(client, emulator, task_id, needed=None):
    """Poll through ``client.wait`` until the task ends, in whatever way it ends; the
    states seen on the way, starting with an answer before any time has passed."""
    clock = emulator.clock
    seen = [_view(client.get_task(task_id))]
    try:
        status = client.wait(task_id, 60, schedule=PollSchedule(time_scale=SPEED), wanted=needed or 2,
                             clock=clock, on_poll=lambda status, elapsed: status and seen.append(_view(status)))
    except TaskFailedError:
        status = client.get_task(task_id)
    seen.append(_view(status))
    return status, seen


def paid_posts(emulator):
    return len(emulator.requests_to("POST", "/api/v1/sonic/"))


def test_create_goes_not_ready_running_succeeded_with_two_clips(client, emulator):
    task_id = client.submit(BODY)
    status, seen = wait_done(client, emulator, task_id)
    assert seen[0] == "not_ready"
    assert ("running", "running") in seen or any("running" in s for s in seen if s != "not_ready")
    assert len(status.clips) == 2 and all(c.done and c.audio_url and c.duration for c in status.clips)
    assert emulator.state.charged("create_music") == 15


def test_extend_concat_and_wav_round_trip(client, emulator, tmp_path):
    first, _ = wait_done(client, emulator, client.submit(BODY))
    clip = first.clips[0]
    ext_id = client.submit({**BODY, "task_type": "extend_music", "continue_clip_id": clip.clip_id,
                            "continue_at": 30})
    ext, _ = wait_done(client, emulator, ext_id)
    new = ext.clips[0]
    truth = new.raw["emulator"]
    assert truth["song_offset"] == 30 and truth["bpm"] == clip.raw["emulator"]["bpm"]
    whole, _ = wait_done(client, emulator, client.submit({"task_type": "concat_music", "continue_clip_id": new.clip_id}))
    assert len(whole.clips) == 1
    assert whole.clips[0].duration == pytest.approx(30 + new.duration, abs=0.02)
    url = client.wav_url(whole.clips[0].clip_id)
    path = client.download(url, tmp_path / "whole.wav")
    assert path.read_bytes()[:4] == b"RIFF"
    assert emulator.state.charged() == 15 + 15 + 2 + 2


def test_credits_and_unknown_task(client, emulator):
    assert client.credits() == {"credits": 1000, "extra_credits": 0}
    with pytest.raises(TaskNotFoundError):
        client.get_task("no-such-task")
    emulator.state.task_not_found_status = 404
    with pytest.raises(TaskNotFoundError):
        client.get_task("no-such-task")


@pytest.mark.parametrize("fmt", ["string", "float", "int"])
def test_duration_in_every_known_format(client, emulator, fmt):
    emulator.state.duration_format = fmt
    status, _ = wait_done(client, emulator, client.submit(BODY))
    assert all(isinstance(c.duration, float) and c.duration > 10 for c in status.clips)


def test_wav_that_is_still_preparing_is_asked_again(client, emulator):
    status, _ = wait_done(client, emulator, client.submit(BODY))
    emulator.state.wav_preparing = 2
    assert client.wav_url(status.clips[0].clip_id).endswith(".wav")


def test_auth_errors(emulator):
    with pytest.raises(AuthError, match="key"):
        MusicAPIClient("wrong-key", emulator.url, retry=FAST_RETRY).credits()
    keyless = MusicAPIClient("", emulator.url)          # made freely: a free Refit sends nothing
    with pytest.raises(AuthError, match="No MusicAPI key"):
        keyless.submit(BODY)
    assert emulator.state.charged() == 0 and not emulator.requests_to("POST", "/api/v1/sonic")
    response = requests.get(emulator.url + "/api/v1/get-credits")
    assert response.status_code == 401 and response.json()["message"] == "Authorization header is missing."
    response = requests.get(emulator.url + "/api/v1/get-credits", headers={"Authorization": "Token x"})
    assert response.json()["message"] == "Invalid authorization format."


@pytest.mark.parametrize("change,text", [
    ({"mv": "sonic-v9000"}, "'mv' field is invalid"),
    ({"prompt": "x" * 3001}, "less than 3000"),
    ({"tags": "x" * 200}, "less than 200"),
    ({"title": "x" * 80}, "less than 80"),
])
def test_validation_errors_are_invalid_request_and_not_charged(client, emulator, change, text):
    with pytest.raises(InvalidRequestError, match=text):
        client.submit({**BODY, **change})
    assert emulator.state.charged() == 0


def test_https_is_required_except_on_loopback():
    with pytest.raises(ConfigurationError, match="https"):
        MusicAPIClient("k", "http://api.musicapi.ai")
    for url in ("https://api.musicapi.ai", "http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"):
        MusicAPIClient("k", url)


def test_key_never_reaches_the_audio_cdn_nor_any_message(client, emulator, tmp_path):
    status, _ = wait_done(client, emulator, client.submit(BODY))
    client.download(status.clips[0].audio_url, tmp_path / "a.mp3")
    cdn = [r for r in emulator.state.log if r["role"] == "cdn"]
    api = [r for r in emulator.state.log if r["role"] == "api"]
    assert cdn and not any(r["authorized"] for r in cdn) and all(r["authorized"] for r in api)
    emulator.inject("http", "GET /api/v1/get-credits", status=400, message="bad key emulator-key!")
    with pytest.raises(InvalidRequestError) as caught:
        client.credits()
    assert "emulator-key" not in str(caught.value) and "[redacted]" in str(caught.value)
    assert "emulator-key" not in repr(client)


# --- faults: each gives its own clear error, none makes a second paid call -------------------
@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_on_reads_are_retried(client, emulator, status):
    emulator.inject("http", "GET /api/v1/get-credits", status=status, times=2)
    assert client.credits()["credits"] == 1000
    assert len(emulator.requests_to("GET", "/api/v1/get-credits")) == 3


def test_persistent_server_error_is_a_service_error(client, emulator):
    emulator.inject("http", "GET /api/v1/get-credits", status=500, times=10)
    with pytest.raises(ServiceError, match="internal error"):
        client.credits()


def test_rate_limit_honours_retry_after(emulator):
    slept = []
    client = MusicAPIClient("emulator-key", emulator.url, retry=FAST_RETRY, sleep=slept.append)
    emulator.inject("http", "GET /api/v1/get-credits", status=429, retry_after=1.5)
    assert client.credits()["credits"] == 1000
    assert slept == [1.5]
    emulator.inject("http", "GET /api/v1/get-credits", status=430, times=10, retry_after=0)
    with pytest.raises(RateLimitedError):
        client.credits()


def test_rate_limited_create_is_resent_because_nothing_started(client, emulator):
    emulator.inject("http", "POST /api/v1/sonic/create", status=429, retry_after=0)
    client.submit(BODY)
    assert paid_posts(emulator) == 2 and emulator.state.charged() == 15


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_or_gateway_error_on_create_is_outcome_unknown_and_not_resent(client, emulator, status):
    # Even with Retry-After: urllib3 alone would repeat a 503 that carries one.
    emulator.inject("http", "POST /api/v1/sonic/create", status=status, times=5, retry_after=0)
    with pytest.raises(OutcomeUnknownError, match=f"HTTP {status}"):
        client.submit(BODY)
    assert paid_posts(emulator) == 1


def test_connection_reset_on_read_is_retried_and_on_create_is_outcome_unknown(client, emulator):
    emulator.inject("reset", "GET /api/v1/get-credits")
    assert client.credits()["credits"] == 1000
    emulator.inject("reset", "POST /api/v1/sonic/create")
    with pytest.raises(OutcomeUnknownError, match="charged"):
        client.submit(BODY)
    assert paid_posts(emulator) == 1


def test_read_timeout_on_create_is_outcome_unknown_and_never_resent(emulator):
    client = MusicAPIClient("emulator-key", emulator.url,
                            retry=RetryPolicy(attempts=4, base_delay=0.01, read_timeout=0.3))
    emulator.inject("delay", "POST /api/v1/sonic/create", delay=1.0)
    with pytest.raises(OutcomeUnknownError):
        client.submit(BODY)
    until(lambda: emulator.state.charged() == 15, "the delayed create")
    assert paid_posts(emulator) == 1 and emulator.state.charged() == 15  # charged once, sent once


def test_read_timeout_on_poll_is_retried(emulator):
    client = MusicAPIClient("emulator-key", emulator.url,
                            retry=RetryPolicy(attempts=3, base_delay=0.01, read_timeout=0.3))
    emulator.inject("delay", "GET /api/v1/get-credits", delay=0.6)
    assert client.credits()["credits"] == 1000


def test_unreachable_service_is_a_network_error():
    client = MusicAPIClient("k", "http://127.0.0.1:9", retry=FAST_RETRY)
    with pytest.raises(NetworkError, match="reach"):
        client.credits()


def test_malformed_json_is_a_poll_not_ready_yet_an_error_elsewhere_and_unknown_on_paid(client, emulator):
    emulator.inject("malformed", "GET /api/v1/sonic/task/")
    assert client.get_task("any").not_ready
    emulator.inject("malformed", "GET /api/v1/get-credits")
    with pytest.raises(ServiceError, match="unreadable"):
        client.credits()
    emulator.inject("malformed", "POST /api/v1/sonic/create")
    with pytest.raises(OutcomeUnknownError, match="unreadable"):
        client.submit(BODY)


def test_moderation_and_credit_refusals(client, emulator):
    emulator.inject("http", "POST /api/v1/sonic/create", status=403)
    with pytest.raises(ModerationError, match="moderation"):
        client.submit(BODY)
    emulator.state.credits = 10
    with pytest.raises(InsufficientCreditsError, match="credits"):
        client.submit(BODY)
    assert paid_posts(emulator) == 2 and emulator.state.charged() == 0


def test_failed_task_is_refunded_and_failed_clip_is_reported(client, emulator):
    emulator.inject("task_failed", "POST /api/v1/sonic/create", message="GPU exploded")
    status, _ = wait_done(client, emulator, client.submit(BODY))
    assert status.failure == "failed" and status.error == "GPU exploded"
    assert emulator.state.credits == 1000
    emulator.inject("clip_failed", "POST /api/v1/sonic/create", message="bad clip")
    status, _ = wait_done(client, emulator, client.submit(BODY))
    assert [c.state for c in status.clips] == ["succeeded", "failed"]
    assert status.failed_clips[0].error == "bad clip"


def test_interrupted_downloads_never_leave_a_file(client, emulator, tmp_path):
    status, _ = wait_done(client, emulator, client.submit(BODY))
    url = status.clips[0].audio_url
    emulator.inject("truncated", "GET /audio/", times=10)
    with pytest.raises(DownloadError, match="cut short|broke off"):
        client.download(url, tmp_path / "x.mp3")
    assert list(tmp_path.iterdir()) == []
    emulator.inject("truncated", "GET /audio/", times=0)
    emulator.state.faults.clear()
    emulator.inject("truncated", "GET /audio/", times=1)   # once: the retry completes it
    assert client.download(url, tmp_path / "x.mp3").stat().st_size > 10_000
    emulator.inject("slow", "GET /audio/", delay=0.001)
    assert client.download(url, tmp_path / "y.mp3").stat().st_size > 10_000


def test_audio_url_that_404s(client, emulator, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        client.download(emulator.cdn_url + "/audio/gone.mp3", tmp_path / "gone.mp3")
    assert len(emulator.requests_to("GET", "/audio/gone")) == 1   # a 404 is final
    assert not (tmp_path / "gone.mp3").exists()


def test_retry_after_as_http_date():
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=now) == 0.0      # already past
    assert parse_retry_after("2.5") == 2.5 and parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_wait_follows_the_schedule_on_the_emulators_clock(client, emulator):
    """The one polling path: two sparse polls before the forecast, then one every interval,
    on a clock no test can race."""
    task_id = client.submit(BODY)
    clock = emulator.clock
    schedule = PollSchedule(time_scale=SPEED)
    polls = []
    status = client.wait(task_id, 100, schedule=schedule, wanted=2, clock=clock,
                         on_poll=lambda status, elapsed: polls.append(elapsed))
    assert all(c.done for c in status.clips)
    waits = [w / SPEED for w in clock.slept]
    assert waits[:2] == pytest.approx([12.5, 12.5])          # a quarter of 100 s, in two halves
    assert all(w == pytest.approx(schedule.interval) for w in waits[2:])
    assert polls[0] == 0.0 and polls == sorted(polls)
    from scorefit.core.musicapi import CancelToken, Cancelled
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        client.wait(client.submit(BODY), 100, schedule=schedule, clock=clock, cancel=cancel)


def test_stop_reads_ends_a_read_that_waits_on_a_silent_server_at_once():
    # A server that accepts and never answers: without the stop, a poll waits the read
    # timeout (60 s) and every retry; a cancelled job must not.
    import socket
    import threading
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    client = MusicAPIClient("k", f"http://127.0.0.1:{silent.getsockname()[1]}")
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_raised(client.balance)))
    try:
        reader.start()
        connection, _ = silent.accept()          # the read is now waiting for an answer
        assert reader.is_alive() and client.retry.read_timeout == 60
        client.stop_reads()
        reader.join(30)                          # half the read timeout: only the stop can end it
        assert not reader.is_alive(), "the read still waits on the silent server"
        connection.close()
        assert isinstance(outcome[0], NetworkError)
        assert isinstance(_raised(lambda: client.get_task("t")), NetworkError)   # and every read after
    finally:
        silent.close()


def test_stop_reads_leaves_paid_requests_alone(client, emulator):
    client.stop_reads()
    assert client.submit(BODY)        # a paid POST still goes: a cancel never makes its outcome unknown
    assert paid_posts(emulator) == 1


def _raised(call):
    try:
        call()
    except Exception as error:       # noqa: BLE001 - the test inspects what was raised
        return error
    return None
