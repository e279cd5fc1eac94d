"""ScoreFit inside DaVinci Resolve: a dialog where ``fusion.UIManager`` exists, otherwise
(free edition 19.1+) a console mode that prints progress to Workspace ▸ Console.

Both run the one job path (:mod:`core.session`): Resolve calls stay on the thread Resolve
runs the script on; the job's worker thread does only HTTP and file work.
"""
from __future__ import annotations

from dataclasses import replace

from ..core import (BackgroundJob, Choices, config, connect, describe, host, Library, MODELS,
                    plan_for, refit_plan_for, reuse_from, ScoreFitError, Snapshot)
from ..emulator import built_in
from . import adapter

FREE_EDITION = ("This edition of Resolve has no script dialogs (the free edition since 19.1), "
                "so ScoreFit runs in console mode with the settings in {config}.")


def _print(message: str):
    print(f"ScoreFit: {message}", flush=True)


def start(plan, *, start_afresh: bool = False) -> BackgroundJob:
    """``plan``'s job, started against the service the config file names."""
    emulator = config.load_settings().get("service") == "emulator"
    service = connect(emulator=built_in(plan.settings.output, seed=plan.settings.seed) if emulator else None)
    return BackgroundJob(plan, service, start_afresh=start_afresh).start()


def plan_of(timeline_model, choices: Choices, refit_of: host.Placed | None = None, timeline=None):
    if refit_of is None:
        _not_stacked(timeline, timeline_model)
        return plan_for(timeline_model, choices)
    return refit_plan_for(timeline_model, choices, reuse_from(refit_of.request_key, Library()))


def finish(resolve, project, timeline, job: BackgroundJob, snap: Snapshot,
           refit_of: host.Placed | None = None) -> tuple[bool, str]:
    """Place a finished job's soundtrack (where ``refit_of`` was, for a Refit) and say what
    happened (the rules are the core's: :func:`core.host.deliver`)."""
    on = adapter.TimelineHost(resolve, project, timeline, config.load_settings()["clip_markers"])
    outcome = host.deliver(on, job.plan.timeline, snap, refit_of)
    return outcome.ok, outcome.text


def console(resolve, project, timeline, refit: bool = False) -> int:
    _print(FREE_EDITION.format(config=config.config_path()))
    try:
        timeline_model = adapter.read_timeline(timeline)
        refit_of = _placed(timeline) if refit else None
        plan = plan_of(timeline_model, Choices.from_config(), refit_of, timeline)
    except ScoreFitError as error:
        _print(describe(error))
        return 1
    # What was read, in Resolve's own numbers: GetEndFrame() is taken as exclusive.
    _print(f"{timeline_model.name}: frames {timeline_model.start_frame} to {timeline_model.end_frame} "
           f"(end exclusive), {timeline_model.duration_timecode} at {timeline_model.fps} fps, "
           f"{len(timeline_model.markers)} markers. {plan.describe()}")
    for note in ([plan.short_warning] if plan.short_warning else []) + plan.dropped:
        _print(note)
    # Nobody is asked in console mode: a limit from the config file stands in for the question.
    settings = config.load_settings()
    limit = int(settings["credit_limit"])
    if settings.get("service") != "emulator" and plan.max_credits > limit:
        _print(f"Nothing was sent: this plan may spend up to {plan.max_credits} credits, more than the "
               f"{limit} allowed per run in console mode. To allow it, set \"credit_limit\": "
               f"{plan.max_credits} in {config.config_path()} and run ScoreFit again.")
        return 1
    afresh = bool(settings["start_afresh"])
    if afresh:
        config.save_settings(start_afresh=False)     # one run only: a later lost answer is checked anew
    try:
        job = start(plan, start_afresh=afresh)
    except ScoreFitError as error:
        _print(describe(error))
        return 1
    last = [""]

    def show(snap):
        if snap.stage != last[0]:
            last[0] = snap.stage
            _print(f"{snap.elapsed:5.0f} s  {snap.stage}")
    snap = job.wait(show)
    ok, message = finish(resolve, project, timeline, job, snap, refit_of)
    _print(message)
    if snap.needs_check:
        # Console mode takes no options: Start Afresh is a setting for the next run.
        _print(f'Once you have checked, set "start_afresh": true in {config.config_path()} and run '
               "ScoreFit again: only the lost request is sent again (and the setting goes back to false).")
    return 0 if ok else 1


def _not_stacked(timeline, model) -> None:
    """Generate never buys a second song over a soundtrack already on the timeline at
    another range (after a recut): that is Refit's work, free when the song is long enough."""
    found = adapter.placed_soundtrack(timeline) if timeline is not None else None
    if found is None:
        return
    start, frames = int(found.item.GetStart()), int(found.item.GetDuration())
    if (start, frames) != (model.start_frame, model.duration_frames):
        raise adapter.ResolveError(
            f"This timeline already has a ScoreFit soundtrack on audio track {found.track}, fitted to "
            f"{frames} frames; the timeline now runs {model.duration_frames}. Run Refit Soundtrack to fit "
            "its song to the recut (free when the song is long enough). To buy a new song instead, delete "
            "that clip first. Nothing was sent.")


def _placed(timeline) -> host.Placed:
    placed = adapter.TimelineHost(None, None, timeline).placed()
    if placed is None:
        raise adapter.ResolveError("There is no ScoreFit soundtrack on this timeline to refit: "
                                   "generate one first.")
    return placed


def dialog(resolve, project, timeline, fusion, bmd) -> int:
    ui = fusion.UIManager
    dispatcher = bmd.UIDispatcher(ui)
    try:
        timeline_model = adapter.read_timeline(timeline)
    except ScoreFitError as error:
        _print(str(error))
        return 1
    stored = Choices.from_config()
    models = list(MODELS)
    window = dispatcher.AddWindow(
        {"ID": "ScoreFit", "WindowTitle": "ScoreFit: soundtrack for this timeline",
         "Geometry": [200, 200, 560, 540]},
        ui.VGroup([
            ui.Label({"ID": "Timeline", "Text": f"{timeline_model.name}: {timeline_model.duration_timecode} "
                      f"at {timeline_model.fps} fps, {len(timeline_model.markers)} markers; frames "
                      f"{timeline_model.start_frame} to {timeline_model.end_frame} (end exclusive)"}),
            ui.Label({"Text": "Prompt (derived from the timeline; edit freely)"}),
            ui.TextEdit({"ID": "Prompt"}),
            ui.HGroup([ui.Label({"Text": "Style"}), ui.LineEdit({"ID": "Style", "Text": stored.style})]),
            ui.HGroup([ui.CheckBox({"ID": "Instrumental", "Text": "Instrumental",
                                    "Checked": stored.instrumental}),
                       ui.ComboBox({"ID": "Model"}), ui.ComboBox({"ID": "Output"}),
                       ui.ComboBox({"ID": "Markers"})]),
            ui.Label({"ID": "Plan", "WordWrap": True}),
            ui.HGroup([ui.Button({"ID": "Generate", "Text": "Generate"}),
                       ui.Button({"ID": "Refit", "Text": "Refit to Timeline"}),
                       ui.Button({"ID": "Check", "Text": "Check Progress"}),
                       ui.Button({"ID": "Cancel", "Text": "Close"})]),
            ui.Label({"ID": "Status", "WordWrap": True}),
            ui.Timer({"ID": "Tick", "Interval": 500}),
        ]))
    items = window.GetItems()
    items["Model"].AddItems(models)
    items["Model"].CurrentIndex = models.index(stored.model) if stored.model in models else 0
    items["Output"].AddItems(["wav", "mp3"])
    items["Output"].CurrentIndex = 0 if stored.output == "wav" else 1
    marker_kinds = ["none", "phrases", "bars"]
    items["Markers"].AddItems(["No bar markers", "Phrase markers on the clip", "Bar markers on the clip"])
    stored_markers = config.load_settings()["clip_markers"]
    items["Markers"].CurrentIndex = marker_kinds.index(stored_markers) if stored_markers in marker_kinds else 0
    items["Refit"].Enabled = adapter.placed_soundtrack(timeline) is not None
    items["Check"].Enabled = False
    state = {"job": None, "afresh": False, "refit_of": None}

    def choices() -> Choices:
        return replace(stored, prompt=items["Prompt"].PlainText, style=items["Style"].Text,
                       instrumental=bool(items["Instrumental"].Checked),
                       model=models[items["Model"].CurrentIndex],
                       output=("wav", "mp3")[items["Output"].CurrentIndex])

    def refresh_plan(ev=None):
        try:
            plan = plan_for(timeline_model, choices())
            items["Plan"].Text = " ".join(filter(None, [plan.describe() + ".", plan.short_warning, *plan.dropped]))
        except ScoreFitError as error:
            items["Plan"].Text = f"Cannot plan: {error}"

    def run(refit: bool):
        if state["job"] is not None:
            return
        chosen = choices()
        config.save_settings(style=chosen.style, instrumental=chosen.instrumental,
                             model=chosen.model, output=chosen.output,
                             clip_markers=marker_kinds[items["Markers"].CurrentIndex])
        try:
            refit_of = _placed(timeline) if refit else None
            plan = plan_of(timeline_model, chosen, refit_of, timeline)
            # A paid Refit, and a very short cut (charged as a whole song), ask once more.
            button, why = ("Refit", plan.describe()) if refit_of is not None and plan.calls else \
                ("Generate", plan.short_warning) if refit_of is None and plan.short_warning else (None, "")
            if button and items[button].Text != f"Confirm {button}":
                items["Status"].Text = f"{why}. Press Confirm {button} to go ahead."
                items[button].Text = f"Confirm {button}"
                return
            state["job"] = start(plan, start_afresh=state["afresh"])
        except ScoreFitError as error:
            items["Status"].Text = describe(error)
            return
        state["refit_of"] = refit_of
        items["Refit"].Text = "Refit to Timeline"
        items["Generate"].Text = "Generate"
        items["Generate"].Enabled = items["Refit"].Enabled = False
        items["Check"].Enabled = True
        items["Cancel"].Text = "Cancel"
        # ui.Timer is not documented: where it fires, progress shows by itself; where it does
        # not, Check Progress (a documented button click) does the same, placing included.
        items["Status"].Text = "Working… (Check Progress shows how far it is)"
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
        items["Check"].Enabled = False
        state["job"] = None
        _ok, message = finish(resolve, project, timeline, job, snap, state["refit_of"])
        items["Status"].Text = message
        state["afresh"] = snap.needs_check       # the next Generate sends only the lost request
        items["Generate"].Text = "Start Afresh" if snap.needs_check else "Generate"
        items["Generate"].Enabled = True
        items["Refit"].Enabled = adapter.placed_soundtrack(timeline) is not None
        items["Cancel"].Text = "Close"

    def cancel(ev):
        job = state["job"]
        if job is not None:
            job.cancel()
            job.join(5)                # it stops at its next safe point, within moments
            tick(ev)                   # shows "Cancelled" without waiting for a timer
        else:
            dispatcher.ExitLoop()

    items["Prompt"].PlainText = plan_for(timeline_model, replace(stored, prompt="")).spec.prompt
    refresh_plan()
    window.On.Generate.Clicked = lambda ev: run(False)
    window.On.Refit.Clicked = lambda ev: run(True)
    window.On.Cancel.Clicked = cancel
    window.On.Check.Clicked = tick
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


def main(namespace: dict | None = None, refit: bool = False) -> int:
    """The Workspace ▸ Scripts entries: ``namespace`` is the script's globals (resolve,
    fusion, bmd); ``refit`` for "Refit Soundtrack", which in console mode refits at once."""
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
        return console(resolve, project, timeline, refit=refit)
    return dialog(resolve, project, timeline, fusion, bmd)
