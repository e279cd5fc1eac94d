"""One ScoreFit task at a time (Generate, Refit or Fit Strip to Cut): started on the main
thread, run in a worker thread, and placed from a ``bpy.app.timers`` tick once it is done.

The main thread does three short things only: read the scene and plan (on Generate),
copy a snapshot into the panel (each tick), and add the strips (at the end). The timers
are persistent, so the job outlives a change of workspace, scene or even file; when its
scene is gone the result stays in the library and the panel says where.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import bpy

from ..core import (BackgroundJob, BackgroundTask, connect, describe, Destination, host, Library, PlacementError,
                    plan_for, Provenance, RefitError, refit_plan_for, reuse_from, ScoreFitError, Snapshot,
                    Timeline)
from ..emulator import built_in
from . import compat, props
from .decode import decode_mp3
from .place import SceneHost, place
from .read import timeline_from_scene

TICK = 0.25          # seconds between panel updates while a job runs
OFFLINE = ("Online access is off, so ScoreFit sent nothing. Turn on Preferences > System > "
           "Network > Allow Online Access (the built-in emulator needs it too: it is a local server).")
NO_AUDIO = ("This Blender build has no audio support (Audaspace), so it cannot hold sound strips. "
            "Nothing was sent and no credits were spent. Use an official Blender build.")


@dataclass
class Message:
    kind: str = ""        # "" | "info" | "error"
    text: str = ""
    offer_afresh: bool = False   # the panel shows Start Afresh (a paid answer was lost)


@dataclass
class Stats:
    """Main-thread time, measured where a user would feel it as a stall."""
    start: float = 0.0          # Generate: read the scene, plan, start the worker
    longest_tick: float = 0.0   # the longest progress tick while the job ran
    placement: float = 0.0      # the last tick: adding the strips
    ticks: int = 0


@dataclass
class _State:
    job: BackgroundTask | None = None
    finish: Callable[[Snapshot], None] | None = None     # on the main thread, when the task ends
    refit: host.Placed | None = None    # the soundtrack a Refit replaces
    scene_uid: int = 0
    scene_name: str = ""
    message: Message = field(default_factory=Message)
    stats: Stats = field(default_factory=Stats)


state = _State()


def busy() -> bool:
    return state.job is not None


def snapshot() -> Snapshot | None:
    return state.job.snapshot() if state.job is not None else None


def _fail(text: str) -> str:
    state.message = Message("error", text)
    _redraw()
    return text


def start(context, *, start_afresh: bool = False, refit: bool = False) -> str | None:
    """Start a job for the context's scene (a Refit of its placed soundtrack with
    ``refit``). Returns an error text, or None when started."""
    began = time.perf_counter()
    if busy():
        return _fail("A ScoreFit job is already running; wait for it or cancel it.")
    scene = context.scene
    prefs = props.preferences(context)
    if not compat.online_access():
        return _fail(OFFLINE)
    if not compat.has_audio():
        return _fail(NO_AUDIO)
    try:
        replacing = SceneHost(scene).placed() if refit else None
        plan = plan_preview(scene, refit=refit, replacing=replacing)
        emulator = prefs is not None and prefs.service == "EMULATOR"
        service = connect(emulator=built_in(plan.settings.output, apart=True, seed=plan.settings.seed)
                          if emulator else None)
    except ScoreFitError as error:
        return _fail(describe(error))
    job = BackgroundJob(plan, service, decoder=decode_mp3, start_afresh=start_afresh, destination=destination())
    run(job, scene, lambda snap: _finish(snap, plan.timeline))
    state.refit = replacing
    state.stats.start = time.perf_counter() - began
    return None


def run(task: BackgroundTask, scene, finish: Callable[[Snapshot], None]):
    """Start ``task`` as the one running task: its progress in the panel on every tick, then
    ``finish(snapshot)`` on the main thread when it ends."""
    state.job, state.finish = task.start(), finish
    state.refit = None
    state.scene_uid, state.scene_name = scene.session_uid, scene.name
    state.message = Message()
    state.stats = Stats()
    bpy.app.timers.register(tick, first_interval=TICK, persistent=True)


def plan_preview(scene, refit: bool = False, replacing: host.Placed | None = None):
    """The plan for ``scene`` as the panel shows it: nothing is sent. Planning is cached on
    what it reads (the timeline and the choices), so a redraw or a click plans only when
    they changed. Raises ScoreFitError (bad input, or a Refit whose song is not in the library)."""
    scene_host = SceneHost(scene)
    timeline = scene_host.read_timeline()
    choices = scene.scorefit.choices()
    if not refit:
        return plan_for(timeline, choices)
    replacing = replacing or scene_host.placed()
    # Nothing placed (the scene was recut while the job ran): the last result's song.
    key = replacing.request_key if replacing is not None else scene.scorefit.last_request_key
    if not key:
        raise RefitError("There is no ScoreFit soundtrack in this scene to refit.")
    return refit_plan_for(timeline, choices, reuse_from(key, Library()))


def cancel():
    if state.job:
        state.job.cancel()


def destination() -> Destination | None:
    """Where ScoreFit's files belong now: beside the .blend as it is saved at this moment
    (an unsaved project keeps them in the library)."""
    return Destination(Path(bpy.path.abspath("//ScoreFit"))) if bpy.data.filepath else None


def tick() -> float | None:
    """The timer: show progress; when the worker is done, place the result."""
    began = time.perf_counter()
    job = state.job
    if job is None:
        return None
    if isinstance(job, BackgroundJob):
        # Read on the main thread, where bpy may be used; the worker reads it when it delivers,
        # so a Save As (or a first save) during the job takes the soundtrack along.
        job.destination = destination()
    snap = job.snapshot()
    if not snap.finished:
        _redraw()
        _status(f"ScoreFit: {snap.stage} {snap.fraction * 100:.0f} %")
        state.stats.ticks += 1
        state.stats.longest_tick = max(state.stats.longest_tick, time.perf_counter() - began)
        return TICK
    state.job = None
    # The worker may still be closing its connections and stopping a built-in emulator
    # (which can take seconds): it touches no Blender data, so the main thread never waits
    # for it (a join here stalled the UI 3.2 s after a 10-minute MP3 job, measured).
    _status(None)
    state.finish(snap)
    _redraw()
    return None


def wait(timeout: float | None = None, on_tick=None) -> Message:
    """For scripts and ``blender --background``: run the job to its end and return the
    outcome; past ``timeout`` the job is cancelled (and stops at its next safe point)."""
    return drive(tick, timeout, on_tick, on_timeout=cancel)


def drive(timer, timeout: float | None = None, on_tick=None, on_timeout=None) -> Message:
    """Where no event loop runs timers (scripts, ``blender --background``), call ``timer``
    every 20 ms as Blender's window manager would, until it stops itself. At ``timeout``:
    ``on_timeout()`` once and carry on, or stop waiting when there is none."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while bpy.app.timers.is_registered(timer):
        if deadline is not None and time.monotonic() > deadline:
            if on_timeout is None:
                break
            on_timeout()
            deadline = None
        time.sleep(0.02)
        if on_tick:
            on_tick()
        if timer() is None and bpy.app.timers.is_registered(timer):
            bpy.app.timers.unregister(timer)
    return state.message


def scene_of_task():
    """The scene the task was started on, if it still exists."""
    return next((s for s in bpy.data.scenes if s.session_uid == state.scene_uid), None)


def _finish(snap: Snapshot, timeline):
    if snap.state != "done":
        tell("info" if snap.state == "cancelled" else "error", snap.error, offer_afresh=snap.needs_check)
        return
    scene = scene_of_task()
    if scene is None:
        tell("info", f"The scene '{state.scene_name}' is gone, so nothing was "
                      f"placed. The soundtrack is kept at {snap.result.primary}.")
        return
    _remember(scene, snap.result)        # Place Again and Refit find it, whatever happens next
    began = time.perf_counter()
    outcome = host.deliver(SceneHost(scene), timeline, snap, state.refit)
    state.stats.placement = time.perf_counter() - began
    if outcome.ok:
        undo_push("Refit ScoreFit Soundtrack" if state.refit else "Place ScoreFit Soundtrack")
    tell("info" if outcome.ok else "error", outcome.text)


def _remember(scene, result):
    settings = scene.scorefit
    settings.last_file = str(result.primary)
    settings.last_alternate = str(result.alternate or "")
    settings.last_sidecar = str(result.sidecar)
    settings.last_request_key = result.provenance.request_key


class SCOREFIT_OT_report(bpy.types.Operator):
    """Reports a task's outcome to the Info editor and status bar: a timer cannot call
    ``Operator.report`` itself, so :func:`tell` runs this one (it lives here, beside its
    only caller, so the runner never reaches up into the UI's operators)."""
    bl_idname = "scorefit.report"
    bl_label = "ScoreFit Report"
    bl_options = {"INTERNAL"}

    level: bpy.props.StringProperty(default="INFO", options={"SKIP_SAVE"})
    text: bpy.props.StringProperty(options={"SKIP_SAVE"})

    def execute(self, context):
        self.report({self.level}, f"ScoreFit: {self.text}")
        return {"FINISHED"}


classes = (SCOREFIT_OT_report,)


def tell(kind: str, text: str, offer_afresh: bool = False):
    """The panel shows the outcome; the Info editor and status bar get it as a report."""
    state.message = Message(kind, text, offer_afresh)
    try:
        bpy.ops.scorefit.report(level="ERROR" if kind == "error" else "INFO", text=text)
    except (RuntimeError, AttributeError):
        pass    # unregistered meanwhile: the panel message is enough


def place_again(scene) -> list:
    settings = scene.scorefit
    sidecar = Path(bpy.path.abspath(settings.last_sidecar))
    try:
        provenance = Provenance.load(sidecar)
    except (OSError, ValueError, TypeError):
        provenance = Provenance(kind="generated", fit={}, origin="", licence="")    # the strips only lack its details
    if provenance.timeline:
        # Never on a range it was not fitted to: that is what Refit is for.
        fitted, now = Timeline.from_dict(provenance.timeline), timeline_from_scene(scene)
        if host.range_changed(fitted, now):
            raise PlacementError(f"The last soundtrack was fitted to frames {fitted.start_frame} to "
                                 f"{fitted.end_frame - 1}; the scene now runs {now.start_frame} to "
                                 f"{now.end_frame - 1}. Press Refit to fit its song to this range (free when "
                                 "the song is long enough).")
    alternate = Path(settings.last_alternate) if settings.last_alternate else None
    return place(scene, Path(settings.last_file), alternate, provenance)


def undo_push(message: str):
    """One undo step for strips added outside an operator (from a timer)."""
    if bpy.app.background:
        # No undo history without a UI; pushing there crashed Blender-as-a-module in our tests.
        return
    window = next(iter(bpy.context.window_manager.windows), None)
    try:
        with bpy.context.temp_override(window=window):
            bpy.ops.ed.undo_push(message=message)
    except (RuntimeError, TypeError):
        pass   # no undo stack (e.g. Blender as a module): nothing to push onto


def _status(text: str | None):
    """Progress in the status bar too (None clears it); outcomes get there as reports."""
    for window in bpy.context.window_manager.windows:
        workspace = getattr(window, "workspace", None)
        if workspace is not None:
            workspace.status_text_set(text)


def _redraw():
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "SEQUENCE_EDITOR":
                area.tag_redraw()


def shutdown():
    """On unregister: stop the worker; paid steps stay in the library's journal."""
    if state.job:
        state.job.cancel()
        state.job.join(5)
        state.job = None
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
