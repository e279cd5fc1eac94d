"""The emulator is faithful where the client and the fit depend on it."""
import subprocess
import sys
import time

import pytest
import requests

from scorefit.core.analysis import analyse
from scorefit.core.audio import read_wav_bytes
from scorefit.core.musicapi import PollSchedule


def finished(client, emulator, task_id):
    status = client.wait(task_id, 60, schedule=PollSchedule(time_scale=emulator.speed), wanted=2,
                         clock=emulator.clock)
    assert status.all_done()
    return status


BODY = {"custom_mode": True, "mv": "sonic-v4", "prompt": "driving synthwave", "tags": "synthwave",
        "title": "T", "make_instrumental": True}


def test_continuation_keeps_tempo_and_bar_phase(client, emulator):
    base = finished(client, emulator, client.submit(BODY)).clips[0]
    ext = finished(client, emulator, client.submit({**BODY, "task_type": "extend_music", "prompt": "calm [End]",
                                          "continue_clip_id": base.clip_id, "continue_at": 37})).clips[0]
    whole = finished(client, emulator, client.submit({"task_type": "concat_music",
                                            "continue_clip_id": ext.clip_id})).clips[0]
    truth = whole.raw["emulator"]
    assert [s["start"] for s in truth["sections"]] == [0, 37] and truth["ending"]
    audio = read_wav_bytes(requests.get(client.wav_url(whole.clip_id)).content)
    # Across the join, the detected downbeats sit on the song's bar lines: one grid throughout.
    analysis = analyse(audio)
    bar = truth["bar_seconds"]
    assert abs(analysis.bpm - truth["bpm"]) < 0.2 and analysis.meter == 4
    around = [d for d in analysis.downbeats if 25 < d < 50]
    assert len(around) >= int(20 / bar)
    assert all(abs(d / bar - round(d / bar)) * bar < 0.012 for d in around)
    assert audio.seconds == pytest.approx(37 + ext.duration, abs=0.01)


def test_two_clips_finish_at_different_times_and_lengths_are_the_models_choice(client, emulator):
    status = finished(client, emulator, client.submit(BODY))
    a, b = status.clips
    assert a.duration != b.duration and all(20 < c.duration <= 120 for c in (a, b))
    records = [emulator.state.clips[c.clip_id] for c in (a, b)]
    assert records[0].ready_at < records[1].ready_at


def test_mp3_is_real_mp3(client, emulator):
    clip = finished(client, emulator, client.submit(BODY)).clips[0]
    data = requests.get(clip.audio_url).content
    assert data[:3] == b"ID3" or data[0] == 0xFF


def test_control_api_and_command_line(emulator):
    requests.post(emulator.url + "/_emulator/faults", json=[{"kind": "http", "match": "GET /api/v1/get-credits",
                                                              "status": 503}])
    assert requests.get(emulator.url + "/api/v1/get-credits",
                        headers={"Authorization": "Bearer emulator-key"}).status_code == 503
    state = requests.get(emulator.url + "/_emulator/state").json()
    assert state["credits"] == 1000 and state["log"][-2]["path"] == "/api/v1/get-credits"
    out = subprocess.run([sys.executable, "-m", "scorefit.emulator", "--help"], capture_output=True, text=True)
    assert "--speed" in out.stdout


def test_the_built_in_emulator_refuses_mp3_before_starting_where_it_cannot_encode(monkeypatch):
    # The Blender extension does not bundle lameenc: MP3 with the built-in emulator is
    # refused up front, never a broken download after the job started.
    import importlib.util
    from scorefit import emulator
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "lameenc" else real(name, *a))
    with pytest.raises(emulator.EmulatorUnavailable, match="cannot make MP3") as caught:
        emulator.built_in("mp3")
    assert "Choose WAV output" in str(caught.value)
    started = emulator.built_in("wav")            # WAV needs no encoder
    try:
        assert started.speed == emulator.BUILT_IN_SPEED and started.key
    finally:
        started.stop()


def test_the_built_in_emulator_apart_runs_in_its_own_process_and_goes_with_its_host():
    # Blender starts it apart: its synthesis must not hold the interpreter lock Blender's
    # UI thread needs. The host here is a separate Python, killed without a goodbye.
    host = subprocess.Popen([sys.executable, "-c", (
        "import time\n"
        "from scorefit.core.session import connect\n"
        "from scorefit.emulator import built_in\n"
        "service = connect(emulator=built_in(apart=True))\n"
        "print(service.client().balance(), service.emulator._child.pid, service.base_url, flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    try:
        credits, child, url = host.stdout.readline().split()
        assert int(credits) == 1000 and int(child) not in (host.pid, 0)
        assert requests.get(url + "/api/v1/get-credits", headers={"Authorization": "Bearer emulator-key"}).ok
    finally:
        host.kill()
        host.wait()
    for _ in range(100):
        try:
            requests.get(url + "/api/v1/get-credits", timeout=0.5)
        except requests.ConnectionError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the emulator outlived the host that started it")


def test_a_built_in_emulator_that_cannot_start_says_so_and_sends_nothing(monkeypatch):
    import socket
    from scorefit import emulator
    from scorefit.core.session import connect
    from scorefit.emulator import process
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    monkeypatch.setattr(process, "_free_port", lambda: taken.getsockname()[1])
    service = connect(emulator=emulator.built_in(apart=True))
    try:
        # The port answers (this test holds it), but it is not the emulator's.
        with pytest.raises(emulator.EmulatorUnavailable, match="stopped as it started: .+Nothing was sent"):
            service.client()
    finally:
        service.close()
        taken.close()


def test_where_this_interpreter_cannot_start_another_the_built_in_emulator_stays_in_it(monkeypatch):
    # An embedding host's sys.executable may be the host itself (Resolve): never launched.
    from scorefit import emulator
    monkeypatch.setattr(sys, "executable", "/opt/resolve/bin/resolve")
    started = emulator.built_in(apart=True)
    try:
        assert isinstance(started, emulator.Emulator)
    finally:
        started.stop()
