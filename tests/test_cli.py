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


def test_missing_key_and_real_service_confirmation_are_clear(tmp_path):
    done = run("fit", "--duration", "30")
    assert done.returncode != 0 and "MUSICAPI_KEY" in done.stderr
    done = run("fit", "--duration", "30", env={**__import__("os").environ, "MUSICAPI_KEY": "secret-key-123"},
               stdin=subprocess.DEVNULL)
    assert "--yes" in done.stderr and "secret-key-123" not in done.stderr + done.stdout
