import json
import math
import subprocess
import sys
import wave
from fractions import Fraction


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "scorefit", *args], capture_output=True, text=True, **kw)


def test_fit_against_the_built_in_emulator(tmp_path):
    out = tmp_path / "score.wav"
    done = run("fit", "--emulator", "--duration", "45", "--fps", "29.97", "--marker", "20:tense build",
               "--model", "sonic-v4", "-o", str(out), "--library", str(tmp_path / "lib"))
    assert done.returncode == 0, done.stderr
    assert "Soundtrack:" in done.stdout and "Provenance:" in done.stdout
    with wave.open(str(out)) as w:
        assert w.getnframes() == math.ceil(Fraction(1349 * 1001, 30000) * 48000) and w.getnchannels() == 2
    assert json.loads(out.with_suffix(".json").read_text())["fit"]["primary"]["target_samples"] == w.getnframes()


def test_plan_shows_cost_without_spending(tmp_path):
    done = run("plan", "--duration", "720", "--fps", "25", "--emulator")
    assert done.returncode == 0 and "3 extends" in done.stdout and "credits" in done.stdout


def test_plan_needs_no_key_and_no_network(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if k != "MUSICAPI_KEY"}
    env["SCOREFIT_CONFIG"] = str(tmp_path / "none.json")
    done = run("plan", "--duration", "300", "--fps", "23.976", env=env)
    assert done.returncode == 0, done.stderr
    assert "Plan:" in done.stdout and "credits" in done.stdout
    short = run("plan", "--duration", "1", "--fps", "24", env=env)
    assert "Note: This cut is only 24 frames" in short.stdout


def test_bad_timeline_files_and_rates_get_a_sentence_not_a_traceback(tmp_path):
    done = run("fit", "--timeline", str(tmp_path / "missing.json"), "--emulator")
    assert done.returncode != 0 and "no timeline file at" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "bad.json").write_text("{not json")
    done = run("plan", "--timeline", str(tmp_path / "bad.json"))
    assert "is not a ScoreFit timeline" in done.stderr and "Traceback" not in done.stderr
    done = run("plan", "--duration", "30", "--fps", "fast")
    assert done.returncode != 0 and "Traceback" not in done.stderr and done.stderr.startswith("scorefit:")


def test_version():
    from scorefit import __version__
    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"scorefit {__version__}"


def test_missing_key_and_real_service_confirmation_are_clear(tmp_path):
    done = run("fit", "--duration", "30")
    assert done.returncode != 0 and "MUSICAPI_KEY" in done.stderr
    done = run("fit", "--duration", "30", env={**__import__("os").environ, "MUSICAPI_KEY": "secret-key-123"},
               stdin=subprocess.DEVNULL)
    assert "--yes" in done.stderr and "secret-key-123" not in done.stderr + done.stdout


def test_fit_file_fits_any_wav_to_frames_and_reports_json(tmp_path):
    from music import song
    from wavfile import write
    audio, _ = song(70, bpm=100, ending="ring", rate=44100)
    source = tmp_path / "my song.wav"
    write(source, audio.samples, 44100, bits=32, floating=True)
    before = source.read_bytes()
    out = tmp_path / "cut.wav"
    done = run("fit-file", str(source), "-o", str(out), "--frames", "1000", "--fps", "23.976", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    samples = math.ceil(Fraction(1000 * 1001, 24000) * 48000)
    with wave.open(str(out)) as w:
        assert w.getnframes() == samples == report["target_samples"] and w.getframerate() == 48000
    assert report["method"] == "bars" and report["ending"] == "ring-out" and report["joins"]
    assert source.read_bytes() == before                        # the editor's file is untouched
    sidecar = json.loads(out.with_suffix(".fit.json").read_text())
    assert sidecar["source"].endswith("my song.wav") and sidecar["fit"] == report


def test_fit_file_errors_are_plain_and_write_nothing(tmp_path):
    from wavfile import write
    done = run("fit-file", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "o.wav"), "--duration", "10")
    assert done.returncode == 2 and "no audio file" in done.stderr and "Traceback" not in done.stderr
    write(tmp_path / "short.wav", [[0.1, 0.1]] * 48000, 48000)
    done = run("fit-file", str(tmp_path / "short.wav"), "-o", str(tmp_path / "o.wav"), "--duration", "10")
    assert done.returncode == 2 and "shorter than the timeline" in done.stderr
    assert "choose longer music or a shorter cut" in done.stderr
    write(tmp_path / "quiet.wav", [[0.0, 0.0]] * 48000 * 20, 48000)
    done = run("fit-file", str(tmp_path / "quiet.wav"), "-o", str(tmp_path / "o.wav"), "--duration", "10")
    assert done.returncode == 2 and "silent" in done.stderr
    done = run("fit-file", str(tmp_path / "quiet.wav"), "-o", str(tmp_path / "o.wav"))
    assert done.returncode != 0 and "--duration SECONDS or as --frames" in done.stderr
    # A frame count without its rate is no length: 2500 frames are 100 s at 25 fps, 104 s at 24.
    done = run("fit-file", str(tmp_path / "quiet.wav"), "-o", str(tmp_path / "o.wav"), "--frames", "240")
    assert done.returncode != 0 and "--frames needs the cut's frame rate: add --fps" in done.stderr
    assert not (tmp_path / "o.wav").exists()


def test_a_repeat_with_the_built_in_emulator_is_served_from_the_library(tmp_path):
    args = ("fit", "--emulator", "--duration", "20", "--fps", "24", "--model", "sonic-v4", "--no-alternate",
            "--library", str(tmp_path / "lib"))
    first = run(*args, "-o", str(tmp_path / "a.wav"))
    second = run(*args, "-o", str(tmp_path / "b.wav"))
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert "Served from the library" not in first.stdout
    assert "Served from the library: no credits spent." in second.stdout
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_fit_file_on_mp3_without_a_decoder_says_what_to_do(tmp_path):
    import shutil
    import pytest
    if shutil.which("ffmpeg"):
        pytest.skip("FFmpeg is installed here, so MP3 decodes")
    (tmp_path / "song.mp3").write_bytes(b"ID3" + bytes(1000))
    done = run("fit-file", str(tmp_path / "song.mp3"), "-o", str(tmp_path / "o.wav"), "--duration", "10")
    assert done.returncode == 2 and "install FFmpeg or convert it to WAV" in done.stderr
    assert "credit" not in done.stderr                          # nothing is paid for in Fit to Cut
    assert "Traceback" not in done.stderr and not (tmp_path / "o.wav").exists()
