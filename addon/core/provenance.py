"""Where a soundtrack came from: one versioned schema for generated music, Refits and
Fit to Cut, written as the JSON sidecar beside each file and read back by every host.

Output from MusicAPI carries commercial rights, so this record travels with the project.
Sidecars written before the schema had a number (ScoreFit 0.1) read as they were.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .. import __version__
from .files import atomic_write_json
from .musicapi import is_loopback

SCHEMA = 2

GENERATED, REFIT, FIT_TO_CUT = "generated", "refit", "fit-to-cut"
LICENCE_NOTE = ("Generated with MusicAPI (musicapi.ai). Music made on a paid MusicAPI plan "
                "comes with rights for commercial use under MusicAPI's terms; keep this file "
                "with the project as the record of where the track came from.")
# The real service is never on this computer: a loopback address is an emulator, whose
# synthesised takes are placeholders and carry no one's rights.
EMULATOR_NOTE = ("Made by a MusicAPI emulator on this computer (a synthesised placeholder for "
                 "trying ScoreFit), not by MusicAPI: it carries no commercial-use rights. "
                 "Generate with MusicAPI before delivering.")
OWN_NOTE = "The editor's own music, fitted by ScoreFit; its rights are the editor's."


def licence_for(base_url: str) -> tuple[str, str]:
    """(origin, licence note) of a take made at ``base_url``."""
    if is_loopback(urlsplit(base_url).hostname or ""):
        return "emulator", EMULATOR_NOTE
    return "musicapi", LICENCE_NOTE


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class Provenance:
    """The record of one fitted soundtrack.

    ``kind`` is :data:`GENERATED`, :data:`REFIT` (the song of request ``reuses``, fitted
    again) or :data:`FIT_TO_CUT` (the editor's file ``source``). ``fit`` holds each take's
    fit report by role ("primary", "alternate")."""
    kind: str
    fit: dict
    origin: str                           # "musicapi", "emulator" or "own"
    licence: str
    timeline: dict | None = None          # what it was fitted to (None: a bare length)
    service: str = ""
    request_key: str = ""
    reuses: str = ""
    request: dict = field(default_factory=dict)
    tasks: tuple = ()
    clips: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)       # Fit to Cut: {"path", "sha256"}
    output: str = ""
    created: str = field(default_factory=now)
    scorefit_version: str = __version__

    # --- what hosts show and store ------------------------------------------------------
    @property
    def title(self) -> str:
        return str(self.request.get("title") or "")

    @property
    def prompt(self) -> str:
        return str(self.request.get("prompt") or "")

    @property
    def model(self) -> str:
        return str(self.request.get("model") or "")

    @property
    def task_ids(self) -> list[str]:
        return [str(t["task_id"]) for t in self.tasks if t.get("task_id")]

    def clip_id(self, role: str = "primary") -> str:
        return str(self.clips.get(role) or "")

    def report(self, role: str = "primary") -> dict:
        return self.fit.get(role) or {}

    # --- JSON ---------------------------------------------------------------------------
    def to_json(self) -> dict:
        data = asdict(self)
        data["tasks"] = list(self.tasks)
        return {"schema": SCHEMA, **data}

    @classmethod
    def from_json(cls, data: dict) -> "Provenance":
        if not isinstance(data, dict):
            raise ValueError("a provenance record is a JSON object")
        schema = data.get("schema", 1)
        if schema == 1:
            data = _from_0_1(data)
        elif schema != SCHEMA:
            raise ValueError(f"provenance schema {schema} is newer than this ScoreFit ({SCHEMA}): update ScoreFit")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["tasks"] = tuple(known.get("tasks") or ())
        return cls(**known)

    def save(self, path: Path) -> Path:
        return atomic_write_json(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> "Provenance":
        return cls.from_json(json.loads(Path(path).read_text("utf-8")))


def _from_0_1(data: dict) -> dict:
    """ScoreFit 0.1's two sidecars: a generated soundtrack's, and Fit to Cut's report."""
    if isinstance(data.get("source"), str):
        return {"kind": FIT_TO_CUT, "fit": {"primary": data.get("fit") or {}}, "origin": "own",
                "licence": OWN_NOTE, "source": {"path": data["source"], "sha256": data.get("source_sha256", "")},
                "output": data.get("output", ""), "created": data.get("created", ""),
                "scorefit_version": data.get("scorefit_version", "0.1.0")}
    origin, licence = licence_for(str(data.get("service") or ""))
    reuses = str((data.get("request") or {}).get("reuses") or "")
    return {**data, "kind": REFIT if reuses else GENERATED, "reuses": reuses, "origin": origin,
            "fit": data.get("fit") or {},
            "licence": data.get("licence") if origin == "musicapi" and data.get("licence") else licence}
