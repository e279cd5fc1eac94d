"""Malformed and huge input, fed to the command line and the timeline readers as a careless
or hostile file would: each gets one clear line and a usage exit, nothing is charged, and
the whole batch stays within a CPU-time and memory bound (measured by the operating
system for the child that runs it, so a loaded machine does not change the verdict)."""
import json
import subprocess
import sys
import textwrap

# CPU seconds and peak memory for the whole batch: generous for a slow machine, far below
# what the unbounded readers took (a 1e20-second plan: minutes and 2.7 GB).
CPU_SECONDS = 120
PEAK_MB = 1500

CHILD = textwrap.dedent("""
    import contextlib, io, json, resource, sys
    from scorefit import cli
    results = []
    for args in json.loads(sys.argv[1]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(args)
            except BaseException as error:          # what the test is looking for
                code = f"raised {type(error).__name__}: {error}"
        results.append([args, code, err.getvalue()])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec, so a
    # big test runner would be counted; VmHWM belongs to this program's own memory.
    status = open("/proc/self/status").read()
    peak_kb = int(status.split("VmHWM:")[1].split()[0])
    print(json.dumps({"results": results, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": peak_kb / 1024}))
""")


def cases(tmp_path, emulator) -> list[list[str]]:
    files = {
        "inf-frames.json": '{"fps": 24, "duration_frames": 1e309}',
        "deep.json": "[" * 100_000,
        "inf-fps.json": '{"fps": "1e309", "duration_seconds": 10}',
        "slow-fps.json": '{"fps": "1/3", "duration_seconds": 10}',
        "many-markers.json": json.dumps({"fps": 24, "duration_seconds": 120,
                                         "markers": [{"frame": i % 2880, "name": "tense"} for i in range(200_000)]}),
        "markers-not-list.json": '{"fps": 24, "duration_seconds": 60, "markers": "tense"}',
        "marker-words.json": '{"fps": 24, "duration_seconds": 60, "markers": [{"seconds": "tense"}]}',
        "frames-fraction.json": '{"fps": 24, "duration_frames": "12.5"}',
        "rate.json": '{"fps": 24, "duration_seconds": 60, "sample_rate": 7}',
        "huge-cut.json": '{"fps": 24, "duration_seconds": 1e20}',
        "list.json": "[]",
        "text.edl": "TITLE: x\\nnot an edl at all\\n" * 1000,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    service = ["--base-url", emulator.url, "--yes", "-o", str(tmp_path / "o.wav"), "--library", str(tmp_path / "lib")]
    runs = [["fit", "--timeline", str(tmp_path / name), *service] for name in files]
    runs += [["fit", "--duration", "30", "--fps", fps, *service] for fps in ("1/3", "1e309", "abc", "0", "-24", "30000/0", "nan")]
    runs += [["fit", "--duration", seconds, *service] for seconds in ("1e20", "nan", "inf", "0", "-1", "1e309")]
    runs += [["fit", "--duration", "30", "--marker", marker, *service] for marker in ("tense", "-5:x", ":x", "nan:x")]
    runs += [["plan", "--duration", "1e20"], ["plan", "--timeline", str(tmp_path / "text.edl"), "--fps", "abc"],
             ["refit", str(tmp_path / "list.json"), "--duration", "30", *service],
             ["refit", str(tmp_path / "deep.json"), "--duration", "30", *service],
             ["fit-file", str(tmp_path / "deep.json"), "-o", str(tmp_path / "f.wav"), "--duration", "1e20"],
             ["fit-file", str(tmp_path / "deep.json"), "-o", str(tmp_path / "f.wav"), "--frames", str(10 ** 12), "--fps", "24"]]
    return runs


def test_malformed_and_huge_input_gets_one_clear_line_and_costs_nothing(tmp_path, live_emulator, monkeypatch):
    monkeypatch.setenv("MUSICAPI_KEY", live_emulator.key)
    runs = cases(tmp_path, live_emulator)
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(runs)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert len(report["results"]) == len(runs) > 30
    for args, code, err in report["results"]:
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2, (args, code, err[-500:])
        assert "Traceback" not in err and lines and lines[-1].startswith(("scorefit: ", "usage:", "scorefit")), (args, err)
        assert len(lines[-1]) < 400, (args, lines[-1])
    assert live_emulator.state.charges == [] and not live_emulator.requests_to("POST", "/api")
    assert report["cpu"] < CPU_SECONDS and report["peak_mb"] < PEAK_MB, (report["cpu"], report["peak_mb"])
