"""Where paid results live: a per-user library with a journal of jobs.

Layout under the root (``SCOREFIT_HOME`` or the platform's user data folder)::

    jobs/<key>.json          the journal: each step's task id as soon as it exists
    tracks/<key>/<clip>.wav  downloaded source audio (downloaded once, atomically)
    tracks/<key>/fitted-*.wav + .json   fitted results and their provenance sidecars

A job's journal is written before and after every paid call, so a run killed mid-poll
resumes polling the same tasks instead of paying again.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import platformdirs

APP = "ScoreFit"


def default_root() -> Path:
    env = os.environ.get("SCOREFIT_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP, appauthor=False))


def atomic_write(path: Path, write, mode: int | None = None) -> Path:
    """Write through a temporary file in the same folder: ``path`` appears only complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        if mode is None:   # mkstemp makes the file private; ordinary files follow the umask
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> Path:
    return atomic_write(path, lambda out: out.write(data), mode)


def atomic_copy(src: Path, dst: Path) -> Path:
    with open(src, "rb") as source:
        return atomic_write(dst, lambda out: shutil.copyfileobj(source, out, 1 << 20))


def atomic_write_json(path: Path, data, mode: int | None = None) -> Path:
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)
    return atomic_write_bytes(path, text.encode("utf-8"), mode)


class Job:
    """The journal of one request: steps with task ids, clip results, and the outcome."""

    def __init__(self, library: "Library", key: str, data: dict):
        self.library = library
        self.key = key
        self.data = data
        # The two takes' audio may be fetched at once: journal writes take turns.
        self.lock = threading.RLock()

    @property
    def steps(self) -> list:
        return self.data.setdefault("steps", [])

    @property
    def state(self) -> str:
        return self.data.get("state", "new")

    def step(self, name: str) -> dict | None:
        return next((s for s in self.steps if s["name"] == name), None)

    def begin(self, name: str, kind: str, body: dict) -> dict:
        """Record the intent to pay *before* the request goes out."""
        entry = {"name": name, "kind": kind, "state": "submitting", "body": body,
                 "submitted": time.time()}
        with self.lock:
            if self.state == "new":
                self.data["state"] = "running"      # a job with a paid step is under way
            self.steps.append(entry)
            self.save()
        return entry

    def refused(self, entry: dict):
        """The service refused ``entry`` before doing any work, or failed it and refunded it:
        nothing is charged. A job left with no paid step is not pending: its journal goes."""
        self.steps.remove(entry)
        if self.steps:
            self.save()
        else:
            self.library.forget(self.key)

    @property
    def lost(self) -> list[dict]:
        """Paid requests that were sent (or about to be) whose answer never came."""
        return [s for s in self.steps if s["state"] in ("submitting", "unknown")]

    def forget_lost(self) -> list[str]:
        """Drop the steps whose answers were lost (the editor checked them); every step that
        was answered stays, so nothing already paid for is asked again. Returns their names."""
        lost = self.lost
        for entry in lost:
            self.steps.remove(entry)
        if lost:
            self.save()
        return [s["name"] for s in lost]

    def save(self):
        with self.lock:
            self.data["updated"] = time.time()
            atomic_write_json(self.library.job_path(self.key), self.data)

    @property
    def folder(self) -> Path:
        return self.library.root / "tracks" / self.key

    def source(self, role: str) -> Path:
        """The unfitted audio of ``role``: in this job's folder, or (a free Refit) in the
        folder of the job it reuses, named relative to this one."""
        return Path(os.path.normpath(self.folder / self.data["sources"][role]))


class Library:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_root()

    def job_path(self, key: str) -> Path:
        return self.root / "jobs" / f"{key}.json"

    def job(self, key: str, describe: dict | None = None) -> Job:
        path = self.job_path(key)
        if path.exists():
            return Job(self, key, json.loads(path.read_text("utf-8")))
        return Job(self, key, {"key": key, "state": "new", "created": time.time(),
                               "request": describe or {}, "steps": []})

    def pending(self) -> list[Job]:
        """Jobs that have paid steps but no finished result: candidates to resume."""
        folder = self.root / "jobs"
        jobs = []
        for path in sorted(folder.glob("*.json")) if folder.exists() else ():
            job = Job(self, path.stem, json.loads(path.read_text("utf-8")))
            if job.state not in ("done", "new") and job.steps:
                jobs.append(job)
        return jobs

    def forget(self, key: str):
        """Drop a job's whole journal."""
        self.job_path(key).unlink(missing_ok=True)
