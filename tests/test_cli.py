"""The command line, run in-process (``cli.main([...])``) as a user types it: exit codes,
messages, help, and what lands on disk and in the emulator's ledger."""
import io
import json
import math
import os
import re
import shlex
import stat
import subprocess
import sys
import wave
from fractions import Fraction
from pathlib import Path

import pytest

from scorefit import cli
from scorefit.core import config
from scorefit.core.library import Library
from scorefit.core.session import Snapshot
from scorefit.emulator import DEFAULT_KEY, Emulator
from support import SPEED

README = Path(__file__).resolve().parents[1] / "README.md"
SUBCOMMANDS = ("fit", "plan", "refit", "fit-file", "credits", "pending", "key")


def scorefit(capsys, *args) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def service(monkeypatch):
    """A MusicAPI on loopback with a key, polled at its pace: the real-service path."""
    with Emulator(speed=SPEED, sample_rate=22050, seed=3) as emu:
        monkeypatch.setenv("MUSICAPI_KEY", DEFAULT_KEY)
        config.save_settings(base_url=emu.url, time_scale=SPEED)
        yield emu


def test_fit_against_the_built_in_emulator_says_where_it_wrote(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = scorefit(capsys, "fit", "--emulator", "--duration", "45", "--fps", "29.97",
                              "--marker", "20:tense build", "--model", "sonic-v4", "--library", "lib")
    assert code == cli.OK, err
    written = tmp_path / cli.DEFAULT_OUTPUT            # no -o: the current folder, said in full
    assert f"Soundtrack: {written} (" in out and f"Provenance: {written.with_suffix('.json')}" in out
    with wave.open(str(written)) as w:
        assert w.getnframes() == math.ceil(Fraction(1349 * 1001, 30000) * 48000) and w.getnchannels() == 2
    provenance = json.loads(written.with_suffix(".json").read_text())
    assert provenance["fit"]["primary"]["target_samples"] == w.getnframes()
    assert provenance["origin"] == "emulator" and "no commercial-use rights" in provenance["licence"]
    assert (tmp_path / "scorefit-alternate.wav").exists()


def test_plan_is_offline_and_shows_the_cost(capsys):
    code, out, _ = scorefit(capsys, "plan", "--duration", "720", "--fps", "25")
    assert code == 0 and "3 extends" in out and "credits" in out
    code, out, _ = scorefit(capsys, "plan", "--duration", "1", "--fps", "24")
    assert code == 0 and "Note: This cut is only 24 frames" in out


@pytest.mark.parametrize("args,says", [
    (["fit", "--duration", "30", "--marker", "tense"], 'expected "SECONDS:words", for example "42.5:tense build"'),
    (["fit", "--duration", "-3"], "expected a number of seconds above 0"),
    (["plan", "--duration", "30", "--fps", "fast"], "not a frame rate: 'fast' (expected 24, 23.976"),
    (["plan"], "give --timeline FILE or --duration SECONDS"),
    (["plan", "--duration", "30", "--model", "Not A Model!"], "is not a MusicAPI model name"),
    (["plan", "--duration", "30", "--yes"], "arguments: --yes"),
    (["fit", "--duration", "30"], "No MusicAPI key is set"),
    (["fit-file", "x.wav", "-o", "o.wav"], "--duration SECONDS or as --frames"),
    (["fit-file", "x.wav", "-o", "o.wav", "--frames", "240"], "--frames needs the cut's frame rate: add --fps"),
    (["fit-file", "x.wav", "-o", "o.wav", "--frames", "0", "--fps", "24"], "expected a whole number above 0"),
    (["fit", "--emulator", "--duration", "30", "--out-timeline", "x.otio"], "give it with --timeline"),
    (["pending", "--forget", "nope"], "'scorefit pending' lists them"),
    (["credits"], "No MusicAPI key is set"),
    (["refit", "missing.json", "--duration", "30"], "there is no provenance file at missing.json"),
])
def test_bad_usage_or_input_exits_2_with_a_sentence(capsys, tmp_path, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    code, out, err = scorefit(capsys, *args)
    assert code == cli.USAGE
    assert says.lower() in " ".join(err.split()).lower()
    assert not (tmp_path / "o.wav").exists() and not (tmp_path / cli.DEFAULT_OUTPUT).exists()


def test_bad_timeline_files_name_what_is_wrong(capsys, tmp_path):
    code, _, err = scorefit(capsys, "fit", "--timeline", tmp_path / "missing.json", "--emulator")
    assert code == 2 and "no timeline file at" in err
    (tmp_path / "bad.json").write_text("{not json")
    code, _, err = scorefit(capsys, "plan", "--timeline", tmp_path / "bad.json")
    assert code == 2 and "is not a ScoreFit timeline" in err
    (tmp_path / "words.json").write_text(json.dumps({"fps": 24, "duration_seconds": 60,
                                                     "markers": [{"seconds": "tense"}]}))
    code, _, err = scorefit(capsys, "plan", "--timeline", tmp_path / "words.json")
    assert code == 2 and "marker 1's seconds must be a number of seconds" in err


def test_help_shows_every_option_with_its_default_and_an_example(capsys):
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit) as done:
            cli.build_parser().parse_args([name, "--help"])
        assert done.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "examples:" in text and f"scorefit {name}" in text.split("examples:")[1], name
        for action in _subparser(name)._actions:
            assert action.help, (name, action.dest)
            if action.option_strings and action.default not in (None, False, "==SUPPRESS=="):
                assert f"(default: {action.default})" in text, (name, action.dest)
    plan_help = _help_of("plan")
    assert "--fps RATE" in plan_help or "(default: 24)" in plan_help
    for acts_only_when_run in ("--yes", "--forget-pending", "--output-file", "--emulator", "--out-timeline"):
        assert acts_only_when_run not in plan_help


def test_readme_command_lines_parse_and_name_real_options():
    """The README's command-line section is what --help says: each example parses."""
    section = README.read_text().split("## Command line", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    examples = [shlex.split(line)[1:] for line in lines if line.startswith("scorefit ") and "..." not in line]
    assert len(examples) >= 6
    parser = cli.build_parser()
    for argv in examples:
        parser.parse_args(argv)             # argparse exits (and the test fails) on a wrong option
    assert "0 done, 1 failed, 2 bad usage or input, 130 cancelled" in " ".join(section.split())


def test_the_real_service_asks_before_paying(capsys, service, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))             # a script: no terminal
    code, out, err = scorefit(capsys, "fit", "--duration", "30", "-o", tmp_path / "s.wav")
    assert code == cli.USAGE and "add --yes to confirm" in err and DEFAULT_KEY not in out + err
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    code, out, _ = scorefit(capsys, "fit", "--duration", "30", "-o", tmp_path / "s.wav")
    assert code == cli.FAILED and "Nothing was sent." in out

    def interrupted(prompt):
        raise KeyboardInterrupt
    monkeypatch.setattr("builtins.input", interrupted)
    code, _, err = scorefit(capsys, "fit", "--duration", "30", "-o", tmp_path / "s.wav")
    assert code == cli.CANCELLED and "cancelled" in err
    assert service.state.charged() == 0 and not service.requests_to("POST", "/api/v1/sonic")
    assert not (tmp_path / "s.wav").exists()


def test_a_failed_run_exits_1_and_spends_nothing(capsys, service, tmp_path):
    service.state.credits = 3
    code, _, err = scorefit(capsys, "fit", "--duration", "30", "--yes", "-o", tmp_path / "s.wav")
    assert code == cli.FAILED and "balance is 3 credits" in err and "Nothing was sent" in err
    assert service.state.charged() == 0


def test_credits_and_a_paid_run_then_a_free_refit_that_needs_no_key(capsys, service, tmp_path, monkeypatch):
    code, out, _ = scorefit(capsys, "credits")
    assert code == 0 and json.loads(out)["credits"] == 1000
    code, out, err = scorefit(capsys, "fit", "--duration", "40", "--no-alternate", "--yes", "-o", tmp_path / "a.wav")
    assert code == 0, err
    spent = service.state.charged()
    assert spent > 0 and "Served from the library" not in out
    monkeypatch.delenv("MUSICAPI_KEY")          # nothing is sent: no key is asked for
    code, out, err = scorefit(capsys, "refit", tmp_path / "a.json", "--duration", "31", "--no-alternate",
                              "-o", tmp_path / "b.wav")
    assert code == 0, err
    with wave.open(str(tmp_path / "b.wav")) as w:
        assert w.getnframes() == 31 * 48000
    code, out, err = scorefit(capsys, "fit", "--duration", "40", "--no-alternate", "-o", tmp_path / "c.wav")
    assert code == 0 and "Served from the library: no credits spent." in out, err
    assert service.state.charged() == spent
    code, _, err = scorefit(capsys, "fit", "--duration", "50", "--no-alternate", "--yes", "-o", tmp_path / "d.wav")
    assert code == cli.USAGE and "No MusicAPI key is set" in err and "'scorefit key'" in err


def test_a_corrupt_config_is_named_and_never_overwritten(capsys, monkeypatch):
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"style": "jazz",')
    code, out, err = scorefit(capsys, "plan", "--duration", "30")
    assert code == 0 and f"The config file {path} is not valid JSON" in err and "defaults are used" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO("new-key\n"))
    code, _, err = scorefit(capsys, "key")
    assert code == cli.USAGE and "Fix or remove it" in err
    assert path.read_text() == '{"style": "jazz",'


def test_key_is_stored_privately_and_removed(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("my-key-42\n"))
    code, out, _ = scorefit(capsys, "key")
    assert code == 0 and "my-key-42" not in out
    assert config.get_api_key() == "my-key-42"
    assert stat.S_IMODE(config.config_path().stat().st_mode) == 0o600
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    code, out, _ = scorefit(capsys, "key")
    assert code == 0 and out.strip() == "Key removed." and config.get_api_key() == ""


def test_pending_lists_and_forgets_lost_requests(capsys, tmp_path):
    library = Library(tmp_path / "lib")
    code, out, _ = scorefit(capsys, "pending", "--library", library.root)
    assert code == 0 and out.strip() == "No unfinished jobs."
    job = library.job("k1", {"title": "Chase"})
    job.begin("create", "create", {"prompt": "x"})
    code, out, _ = scorefit(capsys, "pending", "--library", library.root)
    assert out.startswith("k1 Chase create=submitting")
    code, out, _ = scorefit(capsys, "pending", "--library", library.root, "--forget", "k1")
    assert code == 0 and "Forgot the lost create request(s) of k1" in out
    code, out, _ = scorefit(capsys, "pending", "--library", library.root, "--forget", "k1")
    assert code == 0 and "has no lost request" in out


def test_fit_file_fits_any_wav_to_frames_and_reports_json(capsys, tmp_path):
    from music import song
    from wavfile import write
    audio, _ = song(70, bpm=100, ending="ring", rate=44100)
    source = tmp_path / "my song.wav"
    write(source, audio.samples, 44100, bits=32, floating=True)
    before = source.read_bytes()
    out = tmp_path / "cut.wav"
    code, text, err = scorefit(capsys, "fit-file", source, "-o", out, "--frames", "1000", "--fps", "23.976", "--json")
    assert code == 0, err
    report = json.loads(text)
    samples = math.ceil(Fraction(1000 * 1001, 24000) * 48000)
    with wave.open(str(out)) as w:
        assert w.getnframes() == samples == report["target_samples"] and w.getframerate() == 48000
    assert report["method"] == "bars" and report["ending"] == "ring-out" and report["joins"]
    assert source.read_bytes() == before                        # the editor's file is untouched
    sidecar = json.loads(out.with_suffix(".fit.json").read_text())
    assert sidecar["source"]["path"].endswith("my song.wav") and sidecar["fit"] == {"primary": report}
    assert sidecar["kind"] == "fit-to-cut" and sidecar["origin"] == "own" and len(sidecar["source"]["sha256"]) == 64
    code, text, _ = scorefit(capsys, "fit-file", source, "-o", tmp_path / "again.wav", "--duration", "30.5")
    assert code == 0 and f"Fitted: {tmp_path / 'again.wav'} (1464000 samples" in text and "Report: " in text


def test_fit_file_errors_are_plain_and_write_nothing(capsys, tmp_path):
    from wavfile import write
    code, _, err = scorefit(capsys, "fit-file", tmp_path / "nope.wav", "-o", tmp_path / "o.wav", "--duration", "10")
    assert code == 2 and "no audio file" in err
    write(tmp_path / "short.wav", [[0.1, 0.1]] * 48000, 48000)
    code, _, err = scorefit(capsys, "fit-file", tmp_path / "short.wav", "-o", tmp_path / "o.wav", "--duration", "10")
    assert code == 2 and "shorter than the timeline" in err and "choose longer music or a shorter cut" in err
    write(tmp_path / "quiet.wav", [[0.0, 0.0]] * 48000 * 20, 48000)
    code, _, err = scorefit(capsys, "fit-file", tmp_path / "quiet.wav", "-o", tmp_path / "o.wav", "--duration", "10")
    assert code == 2 and "silent" in err
    code, _, err = scorefit(capsys, "fit-file", tmp_path / "quiet.wav", "-o", tmp_path / "quiet.wav", "--duration", "10")
    assert code == 2 and "would overwrite the input" in err
    assert not (tmp_path / "o.wav").exists()


def test_fit_file_on_mp3_without_a_decoder_says_what_to_do(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))          # no FFmpeg on this PATH
    (tmp_path / "song.mp3").write_bytes(b"ID3" + bytes(1000))
    code, _, err = scorefit(capsys, "fit-file", tmp_path / "song.mp3", "-o", tmp_path / "o.wav", "--duration", "10")
    assert code == 2 and "install FFmpeg or convert it to WAV" in err
    assert "credit" not in err and not (tmp_path / "o.wav").exists()


def test_a_repeat_with_the_built_in_emulator_is_served_from_the_library(capsys, tmp_path):
    args = ("fit", "--emulator", "--duration", "20", "--fps", "24", "--model", "sonic-v4", "--no-alternate",
            "--library", tmp_path / "lib")
    first = scorefit(capsys, *args, "-o", tmp_path / "a.wav")
    second = scorefit(capsys, *args, "-o", tmp_path / "b.wav")
    assert first[0] == 0 and second[0] == 0, second[2]
    assert "Served from the library" not in first[1]
    assert "Served from the library: no credits spent." in second[1]
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_time_left_is_honest():
    running = Snapshot("running")
    assert Snapshot("running", remaining=0.3).time_left == ""          # never "about 0 s left"
    assert Snapshot("running", remaining=44.6).time_left == "about 45 s left"
    assert Snapshot("running", remaining=300).time_left == "about 5 min left"
    assert Snapshot("running", remaining=0.0, overdue=True).time_left == "taking longer than forecast"
    assert Snapshot("done", remaining=10).time_left == "" and running.time_left == ""


def test_the_installed_command_runs_without_a_traceback(tmp_path):
    """One run through the real entry point (``python -m scorefit``), as a shell sees it."""
    from scorefit import __version__
    done = subprocess.run([sys.executable, "-m", "scorefit", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"scorefit {__version__}"
    env = {**os.environ, "SCOREFIT_CONFIG": str(tmp_path / "c.json")}
    env.pop("MUSICAPI_KEY", None)
    done = subprocess.run([sys.executable, "-m", "scorefit", "fit", "--duration", "30"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 2 and done.stderr.startswith("scorefit: No MusicAPI key is set")
    assert "Traceback" not in done.stderr


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _subparser(name: str):
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, type(parser._subparsers._group_actions[0])))
    return sub.choices[name]


def _help_of(name: str) -> str:
    return re.sub(r"\s+", " ", _subparser(name).format_help())


def test_nothing_echoed_carries_terminal_control_codes(capsys, tmp_path):
    (tmp_path / "cut.json").write_text(json.dumps({"fps": 24, "duration_seconds": 30, "markers": [
        {"seconds": 90, "name": "\x1b[2J\x1b[Hgotcha"}]}))
    code, out, err = scorefit(capsys, "plan", "--timeline", tmp_path / "cut.json")
    assert code == 0 and "gotcha" in out and "\x1b" not in out + err


def test_messages_name_what_happened():
    import errno
    import requests
    from urllib3.exceptions import MaxRetryError, ReadTimeoutError
    from scorefit.core.musicapi.client import _what
    from scorefit.core.session import describe
    wrapped = requests.exceptions.ConnectionError(MaxRetryError(None, "/x", ReadTimeoutError(None, "/x", "read timed out")))
    assert _what(wrapped) == "it timed out" and _what(requests.exceptions.ConnectionError("reset")) == "the connection broke"
    full = OSError(errno.ENOSPC, "No space left on device", "/projects/cut/ScoreFit/score.wav")
    assert describe(full).startswith("The disk holding /projects/cut/ScoreFit is full") and "pays nothing twice" in describe(full)


def test_another_take_with_the_built_in_emulator_is_other_music(capsys, tmp_path):
    args = ("fit", "--emulator", "--duration", "20", "--model", "sonic-v4", "--no-alternate", "--library", tmp_path / "lib")
    assert scorefit(capsys, *args, "-o", tmp_path / "a.wav")[0] == 0
    assert scorefit(capsys, *args, "--seed", "1", "-o", tmp_path / "b.wav")[0] == 0
    assert (tmp_path / "a.wav").read_bytes() != (tmp_path / "b.wav").read_bytes()


def test_a_delivery_loudness_is_applied_and_recorded(capsys, tmp_path):
    import numpy as np
    import pyloudnorm
    from music import song
    from wavfile import write
    from scorefit.core.audio import read_wav
    audio, _ = song(70, bpm=100, ending="ring", rate=48000)
    write(tmp_path / "song.wav", audio.samples, 48000)
    code, out, err = scorefit(capsys, "fit-file", tmp_path / "song.wav", "-o", tmp_path / "cut.wav",
                              "--duration", "40", "--loudness", "web", "--json")
    assert code == 0, err
    level = json.loads(out)["loudness"]
    assert level["target"] == -16.0 and abs(level["after_lufs"] + 16.0) < 0.5 and level["after_dbtp"] <= -1.0
    fitted = read_wav(tmp_path / "cut.wav").samples.astype(np.float64)
    assert abs(pyloudnorm.Meter(48000).integrated_loudness(fitted) + 16.0) < 0.5
    code, _, err = scorefit(capsys, "fit-file", tmp_path / "song.wav", "-o", tmp_path / "x.wav",
                            "--duration", "40", "--loudness", "loud")
    assert code == 2 and "is no loudness target" in err


def test_fit_file_ducks_under_dialogue_and_reports_the_keyframes(capsys, tmp_path):
    import numpy as np
    from music import song
    from wavfile import write
    audio, _ = song(70, bpm=100, ending="ring", rate=48000)
    write(tmp_path / "song.wav", audio.samples, 48000)
    rng = np.random.default_rng(1)
    voice = np.zeros(48000 * 40, np.float32)
    for syllable in np.arange(10.0, 16.0, 0.25):          # six seconds of speech-band syllables
        a = int(syllable * 48000)
        spectrum = np.fft.rfft(rng.standard_normal(9600))
        spectrum[(np.fft.rfftfreq(9600, 1 / 48000) < 300) | (np.fft.rfftfreq(9600, 1 / 48000) > 3000)] = 0
        voice[a:a + 9600] = np.fft.irfft(spectrum, 9600) * 0.05
    write(tmp_path / "dialogue.wav", np.stack([voice, voice], 1), 48000)
    code, out, err = scorefit(capsys, "fit-file", tmp_path / "song.wav", "-o", tmp_path / "cut.wav", "--duration", "40",
                              "--duck-under", tmp_path / "dialogue.wav", "--json")
    assert code == 0, err
    ducking = json.loads(out)["ducking"]
    (start, end), = ducking["speech"]
    assert abs(start - 10.0) < 0.05 and abs(end - 16.0) < 0.1 and ducking["depth_db"] == -10.0
    assert ducking["keyframes"][1] == [start, -10.0]


def test_a_generated_soundtrack_is_ducked_under_dialogue_too(capsys, tmp_path):
    import numpy as np
    from wavfile import write
    rng = np.random.default_rng(4)
    voice = np.zeros(48000 * 30, np.float32)
    for syllable in np.arange(8.0, 12.0, 0.25):
        a = int(syllable * 48000)
        spectrum = np.fft.rfft(rng.standard_normal(9600))
        spectrum[(np.fft.rfftfreq(9600, 1 / 48000) < 300) | (np.fft.rfftfreq(9600, 1 / 48000) > 3000)] = 0
        voice[a:a + 9600] = np.fft.irfft(spectrum, 9600) * 0.05
    write(tmp_path / "vo.wav", np.stack([voice, voice], 1), 48000)
    code, out, err = scorefit(capsys, "fit", "--emulator", "--duration", "25", "--model", "sonic-v4", "--no-alternate",
                              "--duck-under", tmp_path / "vo.wav", "-o", tmp_path / "score.wav", "--library", tmp_path / "lib")
    assert code == 0, err
    ducking = json.loads((tmp_path / "score.json").read_text())["fit"]["primary"]["ducking"]
    (start, end), = ducking["speech"]
    assert abs(start - 8.0) < 0.05 and abs(end - 12.0) < 0.1 and "ducked -10 dB" in out
