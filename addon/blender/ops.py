"""Operators: Generate (bound to Ctrl Shift M), Cancel, Derive Prompt, Place Again, Open Folder,
Fit Strip to Cut, and Add / Remove Bar Markers."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import bpy
from bpy.props import BoolProperty

from ..core import PlacementError, describe, prompt_for, ScoreFitError
from . import compat, duck, fit_strip, markers, place, props, runner
from .read import timeline_from_scene

SHORTCUT = "Ctrl Shift M"


def _allowed(cls, problem: str | None) -> bool:
    """A poll's answer: with a problem, the button greys out and says why on hover."""
    if problem:
        cls.poll_message_set(problem)
        return False
    return True


def _job_running() -> str | None:
    return "A ScoreFit task is running" if runner.busy() else None


def _cannot_send() -> str | None:
    """Why nothing could be sent now (the emulator is a local server: it needs it too)."""
    return None if compat.online_access() else "Online access is off (Preferences > System > Network)"


def _started(operator, error: str | None, started: str) -> set:
    """An operator that starts background work: the reason it could not, or that it did."""
    if error:
        _refused(operator, error)
        return {"CANCELLED"}
    operator.report({"INFO"}, started)
    return {"FINISHED"}


def _refused(operator, text: str):
    """An operator's refusal: reported, and in the panel too, replacing an older outcome
    there (which would otherwise read as the answer to this click)."""
    runner.state.message = runner.Message("error", text)
    operator.report({"ERROR"}, text)


def _confirm(operator, context, event, title: str, message: str, confirm_text: str) -> set:
    """Ask before paying: with the reason where Blender can show one (4.1 and later)."""
    manager = context.window_manager
    parameters = {p.identifier for p in manager.bl_rna.functions["invoke_confirm"].parameters}
    if "message" in parameters:
        return manager.invoke_confirm(operator, event, title=title, message=message, confirm_text=confirm_text)
    return manager.invoke_confirm(operator, event)


class SCOREFIT_OT_generate(bpy.types.Operator):
    bl_idname = "scorefit.generate"
    bl_label = "Generate Soundtrack"
    bl_description = (f"Generate music that fits this scene's timeline with MusicAPI and place it at "
                      f"the start on a free channel ({SHORTCUT}). Blender stays usable meanwhile")
    bl_options = {"REGISTER"}

    start_afresh: BoolProperty(name="Start Afresh", options={"SKIP_SAVE"},
                               description="Drop this request's unfinished journal and pay for it anew "
                                           "(only after checking an interrupted request in your account)")

    @classmethod
    def poll(cls, context):
        return _allowed(cls, _job_running() or _cannot_send() or (None if context.scene else "No scene"))

    def invoke(self, context, event):
        """From the UI: ask before paying for a very short cut; otherwise just run."""
        try:
            warning = runner.plan_preview(context.scene).short_warning
        except ScoreFitError:
            warning = ""        # execute() says what is wrong
        if not warning:
            return self.execute(context)
        return _confirm(self, context, event, "Generate Soundtrack?", warning, "Generate")

    def execute(self, context):
        return _started(self, runner.start(context, start_afresh=self.start_afresh),
                        "ScoreFit: generating; progress is in the sidebar's ScoreFit tab")


class SCOREFIT_OT_refit(bpy.types.Operator):
    bl_idname = "scorefit.refit"
    bl_label = "Refit to Scene"
    bl_description = ("Fit the placed soundtrack's song to the scene's range again after a recut: free "
                      "when the song is long enough, otherwise one extend and a join (the cost is shown "
                      "first). The strip is replaced on its channel, in one undo step")
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        scene = context.scene
        song = scene is not None and (place.placed_strip(scene) is not None or bool(scene.scorefit.last_request_key))
        return _allowed(cls, _job_running() or _cannot_send()
                        or (None if song else "No ScoreFit soundtrack in this scene to refit"))

    def invoke(self, context, event):
        """Free Refits run at once; a paid one asks first, with its cost."""
        try:
            plan = runner.plan_preview(context.scene, refit=True)
        except ScoreFitError as error:
            _refused(self, describe(error))
            return {"CANCELLED"}
        prefs = props.preferences(context)
        if plan.calls and prefs is not None and prefs.service == "EMULATOR":
            # Refused before asking: the built-in emulator keeps no songs between runs.
            _refused(self, "The built-in emulator keeps no songs between runs, so a Refit that needs more "
                           "music cannot be tried with it. Generate again instead (free with the emulator).")
            return {"CANCELLED"}
        if not plan.calls:
            return self.execute(context)
        return _confirm(self, context, event, "Refit Soundtrack?",
                        f"The song is too short for the new cut. {plan.describe()}", "Refit")

    def execute(self, context):
        return _started(self, runner.start(context, refit=True),
                        "ScoreFit: refitting; progress is in the sidebar's ScoreFit tab")


class SCOREFIT_OT_cancel(bpy.types.Operator):
    bl_idname = "scorefit.cancel"
    bl_label = "Cancel"
    bl_description = "Stop the running job. Paid steps are kept, so generating again resumes them"

    @classmethod
    def poll(cls, context):
        return runner.busy()

    def execute(self, context):
        runner.cancel()
        return {"FINISHED"}


class SCOREFIT_OT_derive_prompt(bpy.types.Operator):
    bl_idname = "scorefit.derive_prompt"
    bl_label = "Derive Prompt"
    bl_description = "Write the prompt ScoreFit derives from the timeline into the field, to edit it"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        settings = context.scene.scorefit
        try:
            timeline = timeline_from_scene(context.scene)
        except ScoreFitError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        # Derive from the style and vocals only: the current prompt is what gets replaced.
        settings.prompt = prompt_for(timeline, replace(settings.choices(), prompt="")).prompt
        return {"FINISHED"}


class _OnLastResult:
    @classmethod
    def poll(cls, context):
        return context.scene is not None and bool(context.scene.scorefit.last_file)


class SCOREFIT_OT_place_again(_OnLastResult, bpy.types.Operator):
    bl_idname = "scorefit.place_again"
    bl_label = "Place Again"
    bl_description = "Place the last soundtrack again at the start, on a free channel"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        try:
            strips = runner.place_again(context.scene)
        except (PlacementError, RuntimeError) as error:
            _refused(self, str(error))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Placed '{strips[0].name}' on channel {strips[0].channel}")
        return {"FINISHED"}


class SCOREFIT_OT_open_folder(_OnLastResult, bpy.types.Operator):
    bl_idname = "scorefit.open_folder"
    bl_label = "Open Folder"
    bl_description = "Show the soundtrack and its provenance file in the file browser"

    def execute(self, context):
        folder = Path(bpy.path.abspath(context.scene.scorefit.last_file)).parent
        if not folder.is_dir():
            self.report({"ERROR"}, f"The folder {folder} no longer exists")
            return {"CANCELLED"}
        bpy.ops.wm.path_open(filepath=str(folder))
        return {"FINISHED"}


class SCOREFIT_OT_fit_strip(bpy.types.Operator):
    bl_idname = "scorefit.fit_strip"
    bl_label = "Fit Strip to Cut"
    bl_description = ("Fit the active sound strip's music to this scene's length, cut on bar lines with "
                      "its own ending, as a new strip on a free channel; the original is kept, muted. "
                      "No credits are spent")
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        problem = _job_running() or (fit_strip.fittable(compat.active_strip(context.scene))
                                     if context.scene else "No scene")
        return _allowed(cls, problem)

    def execute(self, context):
        return _started(self, fit_strip.start(context.scene, compat.active_strip(context.scene)),
                        "ScoreFit: fitting the strip; it appears on a free channel when done")


class SCOREFIT_OT_duck(bpy.types.Operator):
    bl_idname = "scorefit.duck"
    bl_label = "Duck Under Dialogue"
    bl_description = ("Key the active ScoreFit strip's volume 10 dB down wherever the dialogue (channels named "
                      "Dialogue, VO or Voice; else the other sound strips) speaks, back up in gaps over a "
                      "breath. The keyframes are yours to move. No credits are spent")
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        strip = compat.active_strip(context.scene) if context.scene else None
        ours = strip is not None and strip.type == "SOUND" and bool(strip.get(place.PROP + "role"))
        return _allowed(cls, _job_running() or (None if ours else "Select a ScoreFit strip"))

    def execute(self, context):
        return _started(self, duck.start(context.scene, compat.active_strip(context.scene)),
                        "ScoreFit: finding the dialogue; the volume keyframes appear when done")


class SCOREFIT_OT_add_bar_markers(bpy.types.Operator):
    bl_idname = "scorefit.add_bar_markers"
    bl_label = "Add Bar Markers"
    bl_description = ("Mark the soundtrack's bar lines (and 4-bar phrase starts) on the timeline, so cuts "
                      "can snap to the music. Replaces earlier ScoreFit markers; yours are not touched")
    bl_options = {"REGISTER", "UNDO"}

    phrases_only: BoolProperty(name="Phrase Starts Only", description="Mark only where 4-bar phrases start")

    def execute(self, context):
        try:
            count = markers.add(context.scene, self.phrases_only)
        except ScoreFitError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        self.report({"INFO"}, f"ScoreFit: {count} markers added")
        return {"FINISHED"}


class SCOREFIT_OT_remove_bar_markers(bpy.types.Operator):
    bl_idname = "scorefit.remove_bar_markers"
    bl_label = "Remove Bar Markers"
    bl_description = "Remove the bar and phrase markers ScoreFit added; your own markers stay"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        self.report({"INFO"}, f"ScoreFit: {markers.remove(context.scene)} markers removed")
        return {"FINISHED"}


classes = (SCOREFIT_OT_generate, SCOREFIT_OT_refit, SCOREFIT_OT_cancel, SCOREFIT_OT_derive_prompt,
           SCOREFIT_OT_place_again, SCOREFIT_OT_open_folder, SCOREFIT_OT_fit_strip,
           SCOREFIT_OT_add_bar_markers, SCOREFIT_OT_remove_bar_markers, SCOREFIT_OT_duck)
