"""ScoreFit inside DaVinci Resolve: a dialog where ``fusion.UIManager`` exists, otherwise
(free edition 19.1+) a console mode that prints progress to Workspace ▸ Console.

Resolve calls stay on the thread Resolve runs the script on; the worker thread of
:class:`core.session.BackgroundJob` does only HTTP and file work.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from ..core import config
from ..core.musicapi import MusicAPIError
from ..core.plan import MODELS
from ..core.session import BackgroundJob, Choices, connect, describe, plan_for
from . import adapter

# The alternate take is not placed in Resolve yet, so it is not paid for either.
ALTERNATE = False
FREE_EDITION = ("This edition of Resolve has no script dialogs (the free edition since 19.1), "
                "so ScoreFit runs in console mode with the settings in {config}.")


def _print(message: str):
    print(f"ScoreFit: {message}", flush=True)


def _service():
    return connect(use_emulator=config.load_settings().get("service") == "emulator")


def run_job(plan, service, on_update=lambda snap: None, poll: float = 0.5):
    """Run the worker to its end, reporting snapshots; Resolve is not touched meanwhile."""
    job = BackgroundJob(plan, service).start()
    while True:
        snap = job.snapshot()
        on_update(snap)
        if snap.finished:
            return snap
        time.sleep(poll)


def finish(resolve, project, timeline, snap) -> tuple[bool, str]:
    if snap.state != "done":
        return False, snap.error
    result = snap.result
    placement = adapter.place(resolve, project, timeline, result.primary, result.provenance)
    notes = " ".join(result.notes)
    return placement.ok, f"{placement.message} Provenance: {result.sidecar}. {notes}".strip()


def console(resolve, project, timeline) -> int:
    _print(FREE_EDITION.format(config=config.config_path()))
    try:
        timeline_model = adapter.read_timeline(timeline)
        service = _service()
        plan = plan_for(timeline_model, Choices.from_config(alternate=ALTERNATE), service.identity)
    except (ValueError, MusicAPIError, adapter.ResolveError) as error:
        _print(describe(error) if not isinstance(error, adapter.ResolveError) else str(error))
        return 1
    # What was read, in Resolve's own numbers: GetEndFrame() is taken as exclusive.
    _print(f"{timeline_model.name}: frames {timeline_model.start_frame} to {timeline_model.end_frame} "
           f"(end exclusive), {timeline_model.duration_timecode} at {timeline_model.fps} fps, "
           f"{len(timeline_model.markers)} markers. {plan.describe()}")
    # Nobody is asked in console mode: a limit from the config file stands in for the question.
    limit = int(config.load_settings()["credit_limit"])
    if service.emulator is None and plan.max_credits > limit:
        _print(f"Nothing was sent: this plan may spend up to {plan.max_credits} credits, more than the "
               f"{limit} allowed per run in console mode. To allow it, set \"credit_limit\": "
               f"{plan.max_credits} in {config.config_path()} and run ScoreFit again.")
        service.close()
        return 1
    last = [""]

    def show(snap):
        if snap.stage != last[0]:
            last[0] = snap.stage
            _print(f"{snap.elapsed:5.0f} s  {snap.stage}")
    snap = run_job(plan, service, show)
    try:
        ok, message = finish(resolve, project, timeline, snap)
    except adapter.ResolveError as error:
        ok, message = False, str(error)
    _print(message)
    if snap.needs_check:
        # Console mode takes no options: starting afresh is one command outside Resolve.
        lib = Path(__file__).resolve().parents[2]
        _print(f'To start afresh once you have checked: PYTHONPATH="{lib}" python -m scorefit '
               f"pending --forget {plan.request_key}")
    return 0 if ok else 1


def dialog(resolve, project, timeline, fusion, bmd) -> int:
    ui = fusion.UIManager
    dispatcher = bmd.UIDispatcher(ui)
    try:
        timeline_model = adapter.read_timeline(timeline)
    except (ValueError, adapter.ResolveError) as error:
        _print(str(error))
        return 1
    stored = Choices.from_config(alternate=ALTERNATE)
    models = list(MODELS)
    window = dispatcher.AddWindow(
        {"ID": "ScoreFit", "WindowTitle": "ScoreFit: soundtrack for this timeline",
         "Geometry": [200, 200, 560, 520]},
        ui.VGroup([
            ui.Label({"ID": "Timeline", "Text": f"{timeline_model.name}: {timeline_model.duration_timecode} "
                      f"at {timeline_model.fps} fps, {len(timeline_model.markers)} markers; frames "
                      f"{timeline_model.start_frame} to {timeline_model.end_frame} (end exclusive)"}),
            ui.Label({"Text": "Prompt (derived from the timeline; edit freely)"}),
            ui.TextEdit({"ID": "Prompt"}),
            ui.HGroup([ui.Label({"Text": "Style"}), ui.LineEdit({"ID": "Style", "Text": stored.style})]),
            ui.HGroup([ui.CheckBox({"ID": "Instrumental", "Text": "Instrumental",
                                    "Checked": stored.instrumental}),
                       ui.ComboBox({"ID": "Model"}), ui.ComboBox({"ID": "Output"})]),
            ui.Label({"ID": "Plan", "WordWrap": True}),
            ui.HGroup([ui.Button({"ID": "Generate", "Text": "Generate"}),
                       ui.Button({"ID": "Cancel", "Text": "Close"})]),
            ui.Label({"ID": "Status", "WordWrap": True}),
            ui.Timer({"ID": "Tick", "Interval": 500}),
        ]))
    items = window.GetItems()
    items["Model"].AddItems(models)
    items["Model"].CurrentIndex = models.index(stored.model) if stored.model in models else 0
    items["Output"].AddItems(["wav", "mp3"])
    items["Output"].CurrentIndex = 0 if stored.output == "wav" else 1
    state = {"job": None, "afresh": False}

    def choices() -> Choices:
        return replace(stored, prompt=items["Prompt"].PlainText, style=items["Style"].Text,
                       instrumental=bool(items["Instrumental"].Checked),
                       model=models[items["Model"].CurrentIndex],
                       output=("wav", "mp3")[items["Output"].CurrentIndex])

    def refresh_plan(ev=None):
        try:
            items["Plan"].Text = plan_for(timeline_model, choices(), "https://preview").describe()
        except ValueError as error:
            items["Plan"].Text = f"Cannot plan: {error}"

    def generate(ev):
        if state["job"] is not None:
            return
        chosen = choices()
        config.save_settings(style=chosen.style, instrumental=chosen.instrumental,
                             model=chosen.model, output=chosen.output)
        try:
            service = _service()
            plan = plan_for(timeline_model, chosen, service.identity)
        except (ValueError, MusicAPIError) as error:
            items["Status"].Text = describe(error)
            return
        state["job"] = BackgroundJob(plan, service, start_afresh=state["afresh"]).start()
        items["Generate"].Enabled = False
        items["Cancel"].Text = "Cancel"
        items["Tick"].Start()

    def tick(ev):
        job = state["job"]
        if job is None:
            return
        snap = job.snapshot()
        items["Status"].Text = f"{snap.stage} · {snap.elapsed:.0f} s"
        if not snap.finished:
            return
        items["Tick"].Stop()
        state["job"] = None
        try:
            _ok, message = finish(resolve, project, timeline, snap)
        except adapter.ResolveError as error:
            message = str(error)
        items["Status"].Text = message
        state["afresh"] = snap.needs_check       # the next Generate drops the lost request
        items["Generate"].Text = "Start Afresh" if snap.needs_check else "Generate"
        items["Generate"].Enabled = True
        items["Cancel"].Text = "Close"

    def cancel(ev):
        if state["job"] is not None:
            state["job"].cancel()      # the next tick shows "Cancelled"
        else:
            dispatcher.ExitLoop()

    items["Prompt"].PlainText = plan_for(timeline_model, replace(stored, prompt=""),
                                         "https://preview").spec.prompt
    refresh_plan()
    window.On.Generate.Clicked = generate
    window.On.Cancel.Clicked = cancel
    window.On.ScoreFit.Close = lambda ev: dispatcher.ExitLoop()
    window.On.Tick.Timeout = tick
    window.On.Model.CurrentIndexChanged = refresh_plan
    window.On.Output.CurrentIndexChanged = refresh_plan
    window.Show()
    dispatcher.RunLoop()
    window.Hide()
    if state["job"] is not None:
        state["job"].cancel()
    return 0


def main(namespace: dict | None = None) -> int:
    """The Workspace ▸ Scripts entry: ``namespace`` is the script's globals (resolve, fusion, bmd)."""
    namespace = namespace or {}
    resolve = namespace.get("resolve")
    if resolve is None:
        _print("run this from DaVinci Resolve: Workspace > Scripts > ScoreFit.")
        return 1
    try:
        adapter.check_version(resolve)
        project, timeline = adapter.current(resolve)
    except adapter.ResolveError as error:
        _print(str(error))
        return 1
    fusion, bmd = namespace.get("fusion"), namespace.get("bmd")
    if fusion is None or getattr(fusion, "UIManager", None) is None or bmd is None:
        return console(resolve, project, timeline)
    return dialog(resolve, project, timeline, fusion, bmd)
