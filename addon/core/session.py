"""The one job path every host runs: connect, plan, run in the background, deliver,
describe the outcome, start afresh.

Blender, the Resolve dialog, the Resolve console and the command line differ only in
how they draw (each reads :meth:`BackgroundJob.snapshot` on its own clock) and where
they place the result. Nothing here touches a host; the built-in emulator is started
by the host that chose it and handed to :func:`connect`.
"""
from __future__ import annotations

import errno
import functools
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from . import audio, config
from .errors import InputError, PreflightError, ScoreFitError
from .files import atomic_copy
from .journal import JobState
from .library import Library
from .loudness import TARGETS
from .musicapi import (SYSTEM_CLOCK, Cancelled, Clock, ConfigurationError, InsufficientCreditsError,
                       MusicAPIClient, OutcomeUnknownError)
from .musicapi.client import check_base_url, is_loopback
from .pipeline import CancelToken, Pipeline, PollSchedule, Progress, Result
from .plan import DEFAULT_MODEL, Plan, Reuse, Settings, make_plan, make_refit_plan
from .prompt import DEFAULT_STYLE, PromptSpec, derive_prompt
from .timeline import Timeline


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
    loudness: float | None = None    # delivery loudness in LUFS (loudness.TARGETS), None: as made
    duck_under: tuple = ()           # dialogue audio files, starting with the cut, to duck under

    @classmethod
    def from_config(cls, **overrides) -> "Choices":
        stored = config.load_settings()     # DEFAULTS filled in: every key is there
        known = {k: stored[k] for k in ("style", "instrumental", "model", "output", "alternate")}
        known["loudness"] = loudness_target(stored["loudness"])
        return cls(**{**known, **overrides})

    @property
    def settings(self) -> Settings:
        return Settings(model=self.model, output=self.output, alternate=self.alternate, seed=self.seed)


def loudness_target(value) -> float | None:
    """A delivery loudness as an editor gives it: a name (``streaming`` -14, ``web`` -16,
    ``ebu-r128`` -23, ``atsc-a85`` -24 LUFS), a number of LUFS, or ``off``/None."""
    if value in (None, "", "off", "none"):
        return None
    if str(value).lower() in TARGETS:
        return TARGETS[str(value).lower()]
    try:
        lufs = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{value!r} is no loudness target: use {', '.join(TARGETS)}, a number of "
                         "LUFS (for example -16) or off") from None
    if not -40 <= lufs <= -5:
        raise InputError(f"a loudness target of {lufs:g} LUFS is outside what deliveries use (-40 to -5)")
    return lufs


def prompt_for(timeline: Timeline, choices: Choices) -> PromptSpec:
    spec = derive_prompt(timeline, style=choices.style, instrumental=choices.instrumental)
    edits = {}
    if choices.prompt.strip():
        edits["prompt"] = choices.prompt
    if choices.title.strip():
        edits["title"] = choices.title
    return spec.edited(**edits) if edits else spec


def plan_for(timeline: Timeline, choices: Choices) -> Plan:
    """What a run would ask for and cost. Needs no key and no service. Cached on what it
    reads: a panel redrawn many times a second, then a click, plans once."""
    return _plan(timeline, timeline.dropped_markers, choices)


PLANS_KEPT = 32      # recent (timeline, choices) pairs: a few scenes' worth of edits


@functools.lru_cache(maxsize=PLANS_KEPT)
def _plan(timeline: Timeline, dropped: tuple, choices: Choices) -> Plan:
    # ``dropped`` is part of the key: timelines that differ only in markers outside the cut
    # compare equal, but their plans name different dropped markers.
    return replace(make_plan(timeline, prompt_for(timeline, choices), choices.settings), loudness=choices.loudness,
                   duck_under=choices.duck_under)


def refit_plan_for(timeline: Timeline, choices: Choices, reuse: Reuse) -> Plan:
    """A Refit of the song ``reuse`` to ``timeline``: free, or one extend and a join."""
    return replace(make_refit_plan(timeline, prompt_for(timeline, choices), reuse, choices.settings),
                   loudness=choices.loudness, duck_under=choices.duck_under)


@dataclass
class Service:
    """Where requests go. ``emulator`` is the local emulator a host started for this job
    (anything with ``stop()``); it is stopped with the job."""
    base_url: str
    key: str = field(repr=False)
    time_scale: float = 1.0
    emulator: object | None = None
    clock: Clock = SYSTEM_CLOCK       # what the service's tasks run on (an emulator's own, in tests)

    @property
    def schedule(self) -> PollSchedule:
        return PollSchedule(time_scale=self.time_scale)

    @property
    def identity(self) -> str:
        """What a request's key names as its service: the address, except for the built-in
        emulator, whose address is a new port every time (so a repeat is still served from
        the library)."""
        return BUILT_IN_EMULATOR if self.emulator is not None else self.base_url

    def client(self) -> MusicAPIClient:
        # An emulator in a process of its own is still starting when the job begins.
        ready = getattr(self.emulator, "wait_until_ready", None)
        if ready is not None:
            ready()
        return MusicAPIClient(self.key, self.base_url)

    def close(self):
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None


BUILT_IN_EMULATOR = "built-in emulator"


def connect(*, emulator=None, base_url: str | None = None, sends: bool = True) -> Service:
    """The service to use: the emulator a host started (with ``url``, ``key`` and ``speed``),
    or MusicAPI with the key from ``MUSICAPI_KEY`` or the config file. ``sends=False``
    (a plan with no call, such as a free Refit) needs no key."""
    if emulator is not None:
        return Service(emulator.url, emulator.key, emulator.speed, emulator,
                       getattr(emulator, "clock", SYSTEM_CLOCK))
    key = config.get_api_key()
    if not key and sends:
        raise ConfigurationError(
            "No MusicAPI key is set.",
            hint="Enter it in ScoreFit's settings, or set the MUSICAPI_KEY environment variable. "
                 "To try ScoreFit without a key, choose the built-in emulator.")
    settings = config.load_settings()
    url = check_base_url(base_url or settings["base_url"])
    local = is_loopback(urlsplit(url).hostname or "")
    scale = min(1.0, max(1e-4, float(settings["time_scale"]))) if local else 1.0
    return Service(url, key, scale)


@dataclass(frozen=True)
class Destination:
    """Where the finished files go: ``folder`` (beside the project), named after the
    library's files, or ``stem``.wav / .json / -alternate.wav when a name was asked for."""
    folder: Path
    stem: str | None = None

    def name(self, role: str, source: Path) -> str:
        if self.stem is None:
            return source.name
        suffix = {"primary": ".wav", "alternate": "-alternate.wav", "sidecar": ".json"}[role]
        return self.stem + suffix


def deliver(result: Result, destination: Destination) -> Result:
    """The result with its files (soundtrack, alternate, provenance) copied to
    ``destination``, so the project stays portable. File work: off a UI thread."""
    copies = {}
    for role in ("primary", "alternate", "sidecar"):
        source = getattr(result, role)
        if source is not None:
            copies[role] = atomic_copy(source, Path(destination.folder) / destination.name(role, Path(source)))
    return replace(result, **copies)


def prepare_library(library: Library, key: str, service: Service, start_afresh: bool = False):
    """Before a run. Start Afresh forgets only the requests whose answers were lost (every
    answered step is reused, so a lost WAV answer costs at most one WAV request). A new
    built-in emulator knows nothing of an earlier one's tasks (and its credits are not
    real), so an unfinished journal of one is dropped; a finished job is kept: it is
    served from the library."""
    job = library.job(key)
    if service.emulator is not None and job.state is JobState.RUNNING:
        library.forget(key)
    elif start_afresh:
        job.forget_lost()


# --- checks before the first paid request ------------------------------------------------
MARGIN = 64 << 20        # free space kept beyond the estimate


def _bytes_needed(plan: Plan) -> tuple[int, int]:
    """(library, destination) bytes: the service's 48 kHz 16-bit stereo WAVs (or MP3s and
    their decoded copy) for each take, and the fitted files."""
    takes = 2 if plan.settings.alternate else 1
    source = int((plan.target_seconds + 30) * 48000 * 4)
    fitted = plan.timeline.duration_samples * 4
    return takes * (source + fitted), takes * fitted


def _check_writable(folder: Path, what: str, needed: int):
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise PreflightError(f"The {what} {folder} cannot be written ({error.strerror or error}).",
                             hint="Make it writable or free some space there (for the output: save the "
                                  "project elsewhere), then run again: "
                                  "nothing was sent and no credits were spent.") from None
    free = shutil.disk_usage(folder).free
    if free < needed + MARGIN:
        raise PreflightError(f"The {what} {folder} has {free / 1e6:.0f} MB free; this job needs "
                             f"about {(needed + MARGIN) / 1e6:.0f} MB.",
                             hint="Free some space or choose another folder, then run again: "
                                  "nothing was sent and no credits were spent.")


def preflight(plan: Plan, key: str, client: MusicAPIClient, library: Library,
              destination: Destination | None, service_is_local_trial: bool = False):
    """Everything that would otherwise fail after credits are spent: the library and the
    destination are writable and have room, and the balance covers the most the rest of
    the plan may spend. Raises with nothing sent; a job the library has is not checked."""
    job = library.job(key)
    if job.state is JobState.DONE:
        return
    if plan.reuse is not None and plan.calls and service_is_local_trial:
        raise PreflightError("The built-in emulator keeps no songs between runs, so a Refit that "
                             "needs more music cannot be tried with it.",
                             hint="Generate again instead (free with the emulator). Nothing was sent.")
    in_library, copies = _bytes_needed(plan)
    _check_writable(library.root, "library folder", in_library)
    if destination is not None:
        _check_writable(Path(destination.folder), "output folder", copies)
    # The expected cost, not the most the plan may spend: the extra extends are a reserve
    # that is seldom used, and a balance that runs out mid-job stops it resumably anyway.
    owed = max(0, plan.credits - job.paid)
    balance = client.balance() if owed and plan.calls else None
    if balance is not None and balance < owed:
        raise InsufficientCreditsError(
            f"Your MusicAPI balance is {balance} credits; this plan is expected to spend {owed} "
            f"(at most {plan.max_credits}).",
            hint="Nothing was sent. Buy credits on musicapi.ai, or choose a shorter plan "
                 "(no alternate take, MP3, a model with longer clips), then run again.")


def describe(error: BaseException) -> str:
    """The editor-facing sentence for anything a job can end with."""
    if isinstance(error, ScoreFitError):
        return str(error)
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        where = Path(error.filename).parent if error.filename else "its folder"
        return (f"The disk holding {where} is full. Free some space and run again: every paid step "
                "is kept in the library, so the run again pays nothing twice.")
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return f"A file could not be written or read: {error.strerror or error}{where}."
    return f"Unexpected error ({type(error).__name__}): {error}. Paid steps are kept; run again to resume."


def outcome(result) -> str:
    """What became of a finished job, in words every host shows after its own placement text
    (a task whose result is not a generated soundtrack has none)."""
    if not isinstance(result, Result):
        return ""
    paid = "Served from the library: no credits spent. " if result.from_library else ""
    return (paid + " ".join(result.notes)).strip()


@dataclass(frozen=True)
class Snapshot:
    state: str                      # running | done | failed | cancelled
    stage: str = "Starting"
    fraction: float = 0.0
    elapsed: float = 0.0
    remaining: float | None = None
    result: object = None            # a Result for a job; what a task's work returned
    error: str = ""
    # A paid request's answer was lost: only the editor, after checking, may send it again.
    needs_check: bool = False
    key: str = ""                   # the request's key in the library
    overdue: bool = False           # the service is taking longer than its forecast

    @property
    def time_left(self) -> str:
        """The wait still to come, as honestly as it is known: a forecast, or that the
        service is running over it (never "about 0 s left" for seconds on end)."""
        if self.finished:
            return ""
        if self.overdue:
            return "taking longer than forecast"
        if self.remaining is None or self.remaining < 1:
            return ""
        if self.remaining < 90:
            return f"about {self.remaining:.0f} s left"
        return f"about {self.remaining / 60:.0f} min left"

    @property
    def finished(self) -> bool:
        return self.state != "running"

    @property
    def message(self) -> str:
        """The outcome in words: the error, or what the result carries."""
        return outcome(self.result) if self.state == "done" else self.error


class BackgroundTask:
    """Work in a daemon thread that a host polls (:meth:`snapshot`) on its own clock and may
    :meth:`cancel`: the one lifecycle of every long task (Generate, Fit to Cut), so no host
    ever waits on its UI thread. ``work(token)`` returns the result or raises."""

    def __init__(self, work: Callable[[CancelToken], object] | None = None, stage: str = "Starting"):
        self._task = work
        self.token = CancelToken()
        self._lock = threading.Lock()
        self._snapshot = Snapshot("running", stage=stage)
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="ScoreFit task", daemon=True)

    def start(self):
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

    def wait(self, on_update: Callable[[Snapshot], None] = lambda snap: None,
             every: float = 0.5) -> Snapshot:
        """For hosts without an event loop (a console, the command line): report snapshots
        until the task ends. Ctrl-C cancels it and waits for it to stop safely."""
        while True:
            try:
                snap = self.snapshot()
                on_update(snap)
                if snap.finished:
                    return snap
                time.sleep(every)
            except KeyboardInterrupt:
                self.cancel()
                self.join()
                return self.snapshot()

    def _set(self, **changes):
        with self._lock:
            self._snapshot = replace(self._snapshot, **changes)

    def _done(self, result):
        self._set(state="done", stage="Done", fraction=1.0, remaining=0.0, result=result, overdue=False,
                  elapsed=time.monotonic() - self._started)

    def _failed(self, error: BaseException):
        # A read the cancel cut short ends as the cancel it is.
        if isinstance(error, Cancelled) or (self.token.cancelled and not isinstance(error, OutcomeUnknownError)):
            self._set(state="cancelled", stage="Cancelled", elapsed=time.monotonic() - self._started,
                      error=self.cancelled_text)
            return
        self._set(state="failed", stage="Failed", elapsed=time.monotonic() - self._started,
                  error=describe(error), needs_check=isinstance(error, OutcomeUnknownError))

    cancelled_text = "Cancelled."

    def _run(self):
        try:
            result = self._work()
            self.token.check()          # cancelled at the last moment: the editor said stop
            self._done(result)
        except BaseException as error:   # the worker must always end in a state the UI can show
            self._failed(error)
        finally:
            self._closed()

    def _work(self):
        return self._task(self.token)

    def _closed(self):
        pass


class BackgroundJob(BackgroundTask):
    """Runs one plan: connect, check, generate, fit, deliver (the paid kind of task).

    ``destination`` may be changed by the host while the job runs (Blender follows a Save
    As); it is read once, when the files are delivered."""

    cancelled_text = "Cancelled. Paid steps are kept: generating again resumes without paying twice."

    def __init__(self, plan: Plan, service: Service, library: Library | None = None, *,
                 decoder: audio.Decoder | None = None, start_afresh: bool = False,
                 destination: Destination | None = None):
        super().__init__()
        self.plan = plan
        self.service = service
        self.library = library or Library()
        self.decoder = decoder
        self.start_afresh = start_afresh
        self.destination = destination
        self.key = plan.request_key(service.identity)
        self._client = None
        self._set(key=self.key)

    def cancel(self):
        super().cancel()
        # A read waiting on a silent server would hold the job for minutes (the read
        # timeout, then every retry): cut it. A paid request is left to finish.
        client = self._client
        if client is not None:
            client.stop_reads()

    def _progress(self, progress: Progress):
        self._set(stage=progress.stage, fraction=progress.fraction, remaining=progress.remaining,
                  overdue=progress.overdue)

    def _work(self):
        # Every step of the request, its journal included, belongs to one process at a time.
        with self.library.claim(self.key):
            prepare_library(self.library, self.key, self.service, self.start_afresh)
            client = self._client = self.service.client()
            if self.token.cancelled:
                client.stop_reads()
            preflight(self.plan, self.key, client, self.library, self.destination,
                      service_is_local_trial=self.service.emulator is not None)
            pipeline = Pipeline(client, self.library, schedule=self.service.schedule, decoder=self.decoder,
                                on_progress=self._progress, cancel=self.token, clock=self.service.clock)
            result = pipeline.run(self.plan, self.key)
        destination = self.destination
        if destination is not None:
            self._set(stage="Copying")
            result = deliver(result, destination)
        return result

    def _closed(self):
        self.service.close()
