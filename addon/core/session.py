"""One generation job for a host: what the editor chose, where the service is, and a
worker thread that runs the pipeline while the host's UI thread stays free.

Hosts (Blender, Resolve, the command line) fill in :class:`Choices`, call
:func:`connect` and start a :class:`BackgroundJob`; their UI thread then only reads
:meth:`BackgroundJob.snapshot` from a timer. Nothing here touches a host.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import requests

from . import audio, config
from .fit import FitError
from .library import Library, atomic_copy
from .musicapi import Cancelled, ConfigurationError, MusicAPIClient, MusicAPIError, OutcomeUnknownError
from .musicapi.client import check_base_url, is_loopback
from .pipeline import CancelToken, Pipeline, PollSchedule, Progress, Result
from .plan import DEFAULT_MODEL, Plan, Settings, make_plan
from .prompt import DEFAULT_STYLE, PromptSpec, derive_prompt
from .timeline import Timeline

# The built-in emulator runs at 2 % of the real service's time, so a trial takes seconds.
EMULATOR_SPEED = 0.02


@dataclass(frozen=True)
class Choices:
    """What the editor set in the host's panel or dialog. An empty prompt means "derive it"."""
    prompt: str = ""
    style: str = DEFAULT_STYLE
    instrumental: bool = True
    title: str = ""
    model: str = DEFAULT_MODEL
    output: str = "wav"
    alternate: bool = True
    seed: int = 0

    @classmethod
    def from_config(cls, **overrides) -> "Choices":
        stored = config.load_settings()     # DEFAULTS filled in: every key is there
        known = {k: stored[k] for k in ("style", "instrumental", "model", "output", "alternate")}
        return cls(**{**known, **overrides})


def prompt_for(timeline: Timeline, choices: Choices) -> PromptSpec:
    spec = derive_prompt(timeline, style=choices.style, instrumental=choices.instrumental)
    edits = {}
    if choices.prompt.strip():
        edits["prompt"] = choices.prompt
    if choices.title.strip():
        edits["title"] = choices.title
    return spec.edited(**edits) if edits else spec


def plan_for(timeline: Timeline, choices: Choices, base_url: str) -> Plan:
    settings = Settings(model=choices.model, output=choices.output, alternate=choices.alternate,
                        seed=choices.seed)
    return make_plan(timeline, prompt_for(timeline, choices), settings, base_url)


@dataclass
class Service:
    """Where requests go. ``emulator`` is set when ScoreFit started its own."""
    base_url: str
    key: str = field(repr=False)
    fixed_schedule: PollSchedule | None = None
    emulator: object | None = None

    @property
    def schedule(self) -> PollSchedule:
        """How to poll. For an emulator the editor started on this computer, its own pace,
        which takes a request to learn: asked for by the worker, never the UI thread."""
        if self.fixed_schedule is None:
            self.fixed_schedule = PollSchedule()
            if is_loopback(urlsplit(self.base_url).hostname or ""):
                # The real service is never on this computer.
                self.fixed_schedule = PollSchedule(time_scale=_emulator_speed(self.base_url))
        return self.fixed_schedule

    @property
    def identity(self) -> str:
        """What a request's key names as its service: the address, except for the built-in
        emulator, whose address is a new port every time (so a repeat is still served from
        the library)."""
        return BUILT_IN_EMULATOR if self.emulator is not None else self.base_url

    def client(self) -> MusicAPIClient:
        return MusicAPIClient(self.key, self.base_url)

    def close(self):
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None


BUILT_IN_EMULATOR = "built-in emulator"


def deliver(result: Result, folder: Path) -> Result:
    """The result with its files (soundtrack, alternate, provenance) copied into ``folder``,
    beside the project, so it stays portable. File work: call it off a UI thread."""
    copies = {}
    for name in ("primary", "alternate", "sidecar"):
        source = getattr(result, name)
        if source is not None:
            copies[name] = atomic_copy(source, Path(folder) / Path(source).name)
    return replace(result, **copies)


def prepare_library(library: Library, plan: Plan, service: "Service", start_afresh: bool = False):
    """Before a run: drop the request's journal when the editor starts afresh, or when the
    service is a new built-in emulator, which knows nothing of an earlier one's tasks (and
    whose credits are not real). A finished job is kept: it is served from the library."""
    if start_afresh or (service.emulator is not None
                        and library.job(plan.request_key).state not in ("done", "new")):
        library.forget(plan.request_key)


def connect(*, use_emulator: bool = False, base_url: str | None = None) -> Service:
    """The real service (key from ``MUSICAPI_KEY`` or the config file) or a fresh emulator."""
    if use_emulator:
        from ..emulator import DEFAULT_KEY, Emulator
        emulator = Emulator(speed=EMULATOR_SPEED).start()
        return Service(emulator.url, DEFAULT_KEY, PollSchedule(time_scale=EMULATOR_SPEED), emulator)
    key = config.get_api_key()
    if not key:
        raise ConfigurationError(
            "No MusicAPI key is set.",
            hint="Enter it in ScoreFit's settings, or set the MUSICAPI_KEY environment variable. "
                 "To try ScoreFit without a key, choose the built-in emulator.")
    return Service(check_base_url(base_url or config.load_settings()["base_url"]), key)


def _emulator_speed(base_url: str) -> float:
    try:
        speed = requests.get(base_url + "/_emulator/state", timeout=2).json()["speed"]
        return min(1.0, max(1e-4, float(speed)))
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return 1.0


def describe(error: BaseException) -> str:
    """The editor-facing text for anything a job can end with."""
    if isinstance(error, OutcomeUnknownError):
        return (f"{error} Once you have checked, choose Start Afresh to drop the unfinished "
                "request and send it again.")
    if isinstance(error, (MusicAPIError, audio.DecoderMissing, FitError)):
        return str(error)
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return f"A file could not be written or read: {error.strerror or error}{where}."
    return f"Unexpected error ({type(error).__name__}): {error}. Paid steps are kept; run again to resume."


@dataclass(frozen=True)
class Snapshot:
    state: str                      # running | done | failed | cancelled
    stage: str = "Starting"
    fraction: float = 0.0
    elapsed: float = 0.0
    remaining: float | None = None
    result: Result | None = None
    error: str = ""
    # A paid request's answer was lost: only the editor, after checking, may send it again.
    needs_check: bool = False

    @property
    def finished(self) -> bool:
        return self.state != "running"


class BackgroundJob:
    """Runs one plan in a daemon thread; the host polls :meth:`snapshot` and may :meth:`cancel`."""

    def __init__(self, plan: Plan, service: Service, library: Library | None = None, *,
                 decoder: audio.Decoder | None = None, start_afresh: bool = False):
        self.plan = plan
        self.service = service
        self.library = library or Library()
        self.decoder = decoder
        self.start_afresh = start_afresh
        self.token = CancelToken()
        self._lock = threading.Lock()
        self._snapshot = Snapshot("running")
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._work, name="ScoreFit job", daemon=True)

    def start(self) -> "BackgroundJob":
        self._thread.start()
        return self

    def cancel(self):
        self.token.cancel()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def snapshot(self) -> Snapshot:
        with self._lock:
            snap = self._snapshot
        if snap.state == "running":
            snap = replace(snap, elapsed=time.monotonic() - self._started)
        return snap

    def _set(self, **changes):
        with self._lock:
            self._snapshot = replace(self._snapshot, **changes)

    def _progress(self, progress: Progress):
        self._set(stage=progress.stage, fraction=progress.fraction, remaining=progress.remaining)

    def _work(self):
        try:
            prepare_library(self.library, self.plan, self.service, self.start_afresh)
            pipeline = Pipeline(self.service.client(), self.library, schedule=self.service.schedule,
                                decoder=self.decoder, on_progress=self._progress, cancel=self.token)
            result = pipeline.run(self.plan)
            self._set(state="done", stage="Done", fraction=1.0, remaining=0.0, result=result,
                      elapsed=time.monotonic() - self._started)
        except Cancelled:
            self._set(state="cancelled", stage="Cancelled", elapsed=time.monotonic() - self._started,
                      error="Cancelled. Paid steps are kept: generating again resumes without paying twice.")
        except BaseException as error:   # the worker must always end in a state the UI can show
            self._set(state="failed", stage="Failed", elapsed=time.monotonic() - self._started,
                      error=describe(error), needs_check=isinstance(error, OutcomeUnknownError))
        finally:
            self.service.close()
