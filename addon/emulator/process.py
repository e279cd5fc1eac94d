"""The built-in emulator in a process of its own, for a host whose UI shares our process.

The emulator synthesises its music in pure Python and copies whole files as bytes; in
Blender's process that holds the interpreter lock the UI thread needs. Measured with
bench/blender_main_thread.py, the longest main-thread stall during a 1-, 5- and
10-minute job: 48, 63 and 130 ms with the emulator in Blender's process, 4, 5 and 18 ms
with it in its own. The real service runs elsewhere too: this is the truer trial.

The child is the same package run with the host's own Python (``sys.executable``, which
in Blender is its bundled interpreter), on a port chosen here so the address is known at
once; it exits when its stdin closes, so it never outlives the host, even after a crash.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from ..core import config
from . import EmulatorUnavailable
from .server import DEFAULT_KEY

START_SECONDS = 20.0        # a cold start (first import after install) on a slow disk


def can_run_apart() -> bool:
    """Whether this interpreter can start another of itself (an embedding host's
    ``sys.executable`` may be the host's own program, which must never be launched)."""
    name = Path(sys.executable or "").name.lower()
    return name.startswith("python") and Path(sys.executable).is_file()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmulatorProcess:
    """What a session needs of an emulator (``url``, ``key``, ``speed``, ``stop()``), with
    the emulator in a child process. Starting costs the caller only the spawn; the first
    request waits, in the job's worker, until the child answers (``wait_until_ready``)."""

    def __init__(self, *, speed: float, seed: int = 0):
        self.speed = speed
        self.key = DEFAULT_KEY
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        package = Path(__file__).resolve().parent.parent
        environment = dict(os.environ)
        environment.pop(config.ENV_KEY, None)     # the emulator has no use for a real key
        # The package by its folder's name, and everything the host can import (NumPy,
        # the extension's wheels), ahead of whatever the child would find on its own.
        environment["PYTHONPATH"] = os.pathsep.join([str(package.parent)] + [p for p in sys.path if p])
        self._log = tempfile.TemporaryFile()
        self._child = subprocess.Popen(
            [sys.executable, "-m", f"{package.name}.emulator", "--port", str(port), "--speed", repr(speed),
             "--seed", str(int(seed)), "--exit-with-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=environment,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        # Ready when the child says so, on its own address (not when the port answers:
        # that could be another program that took the port in between).
        self._announced = threading.Event()
        self._announcement = ""
        threading.Thread(target=self._listen, name="ScoreFit emulator output", daemon=True).start()

    def _listen(self):
        for line in self._child.stdout:         # to the end, so the pipe never fills
            if not self._announced.is_set():
                self._announcement = line.decode("utf-8", "replace")
                self._announced.set()
        self._announced.set()

    def wait_until_ready(self, timeout: float = START_SECONDS):
        if not self._announced.wait(timeout):
            self.stop()
            raise EmulatorUnavailable(f"The built-in emulator did not start within {timeout:.0f} s.",
                                      hint="Try again. Nothing was sent.")
        if f" on {self.url} " not in self._announcement:
            try:
                self._child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._child.kill()
            raise EmulatorUnavailable(f"The built-in emulator stopped as it started: {self._last_words()}",
                                      hint="Try again; if it happens again, report it with the system "
                                           "console's output. Nothing was sent.")

    def _last_words(self) -> str:
        self._log.seek(0)
        lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else f"exit status {self._child.returncode}"

    def stop(self):
        if self._child.stdin and not self._child.stdin.closed:
            self._child.stdin.close()
        try:
            self._child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        self._log.close()
