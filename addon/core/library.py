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
import time
from pathlib import Path, PurePosixPath

import platformdirs

from .journal import Job, JobState

APP = "ScoreFit"


def default_root() -> Path:
    env = os.environ.get("SCOREFIT_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP, appauthor=False))


class Library:
    """The per-user folder of journals and paid audio (see the module's docstring)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_root()

    def job_path(self, key: str) -> Path:
        return self.root / "jobs" / f"{key}.json"

    def job(self, key: str, describe: dict | None = None) -> Job:
        path = self.job_path(key)
        if path.exists():
            return Job(self, key, json.loads(path.read_text("utf-8")))
        return Job(self, key, {"key": key, "state": JobState.NEW.value, "created": time.time(),
                               "request": describe or {}, "steps": []})

    @staticmethod
    def track_ref(key: str, filename: str) -> str:
        """How a journal names a file of the library: its job's key, then its name."""
        return f"{key}/{filename}"

    def track(self, ref: str, owner: str) -> Path:
        """The file a journal of job ``owner`` names. Journals of ScoreFit 0.1 named their
        own files bare and another job's relative to their folder ("../key/file")."""
        parts = PurePosixPath(ref).parts
        if parts[:1] == ("..",):
            parts = parts[1:]
        elif len(parts) == 1:
            parts = (owner, *parts)
        if len(parts) != 2 or ".." in parts:
            raise ValueError(f"the library's journal {owner} names no file of the library: {ref!r}")
        return self.root / "tracks" / parts[0] / parts[1]

    def pending(self) -> list[Job]:
        """Jobs that have paid steps but no finished result: candidates to resume."""
        folder = self.root / "jobs"
        jobs = []
        for path in sorted(folder.glob("*.json")) if folder.exists() else ():
            job = Job(self, path.stem, json.loads(path.read_text("utf-8")))
            if job.state is JobState.RUNNING and job.steps:
                jobs.append(job)
        return jobs

    def forget(self, key: str):
        """Drop a job's whole journal."""
        self.job_path(key).unlink(missing_ok=True)
