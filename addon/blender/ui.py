"""Sequencer ▸ Sidebar ▸ ScoreFit, and the Add menu entry (which also puts Generate in F3 search)."""
from __future__ import annotations

import textwrap

import bpy

from ..core import config, ScoreFitError
from . import compat, place, props, runner
from .ops import SCOREFIT_OT_generate
from .read import timeline_from_scene

WRAP = 42   # characters per line for wrapped text in a sidebar of the default width


def _wrapped(layout, text: str, icon: str = "NONE"):
    col = layout.column(align=True)
    for i, line in enumerate(textwrap.wrap(text, WRAP) or [""]):
        col.label(text=line, icon=icon if i == 0 else "BLANK1")


class SCOREFIT_PT_panel(bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "ScoreFit"
    bl_label = "Soundtrack"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        settings = scene.scorefit
        try:
            timeline = timeline_from_scene(scene)
        except ScoreFitError as error:
            _wrapped(layout, f"This timeline can't be scored: {error}.", "ERROR")
            return
        box = layout.box()
        box.label(text=f"{timeline.duration_timecode}  ({float(timeline.duration_seconds):.2f} s)",
                  icon="TIME")
        box.label(text=f"{timeline.fps} fps · starts at frame {timeline.start_frame} · "
                       f"{len(timeline.markers)} marker{'s' if len(timeline.markers) != 1 else ''}")

        try:
            plan = runner.plan_preview(scene)
        except ScoreFitError as error:     # the panel shows it; Generate would refuse the same way
            plan, plan_error = None, f"Cannot plan: {error}"
        col = layout.column()
        col.enabled = not runner.busy()
        row = col.row(align=True)
        row.label(text="Prompt")
        row.operator("scorefit.derive_prompt", text="Derive" if not settings.prompt else "Derive Again",
                     icon="FILE_REFRESH")
        if settings.prompt:
            col.prop(settings, "prompt", text="")
        elif plan is not None:
            # Not yet edited: show what would be sent; Derive copies it into the field.
            _wrapped(col.box(), plan.spec.prompt.replace("\n", "  "))
        col.prop(settings, "style")
        col.prop(settings, "title")
        row = col.row()
        row.prop(settings, "instrumental")
        row.prop(settings, "alternate")
        col.prop(settings, "model")
        col.row().prop(settings, "output", expand=True)
        col.prop(settings, "seed")
        col.prop(settings, "loudness")

        prefs = props.preferences(context)
        emulator = bool(prefs and prefs.service == "EMULATOR")
        text = plan.describe() if plan is not None else plan_error
        if emulator and plan is not None:
            text = f"Built-in emulator: free, placeholder music. With MusicAPI: {text}"
        _wrapped(layout.box(), text, "INFO")
        if plan is not None and plan.short_warning:
            _wrapped(layout, plan.short_warning + " Generate asks first.", "ERROR")
        behind = place.out_of_step(scene)
        if not behind and settings.last_request_key and place.placed_strip(scene) is None:
            behind = "The last soundtrack was not placed."      # the scene was recut while it was made
        if behind and not runner.busy():
            _wrapped(layout, behind + " Refit fits its song to the scene again (free when the song "
                                      "is long enough).", "ERROR")
            layout.operator("scorefit.refit", icon="FILE_REFRESH")
        for strip in compat.top_strips(scene):
            if strip.get("scorefit_role") != "fitted":
                continue
            first, after = compat.span(strip)
            if (first, after - first) != (scene.frame_start, timeline.duration_frames):
                _wrapped(layout, f"'{strip.name}' covers frames {first}-{after - 1}, but the scene is now "
                                 f"{scene.frame_start}-{scene.frame_end}. Select it and use Fit Strip to Cut "
                                 "to fit it to the scene again (free).", "ERROR")

        if not compat.online_access():
            _wrapped(layout, runner.OFFLINE, "ERROR")
        elif not emulator and not config.get_api_key():
            _wrapped(layout, "No MusicAPI key: set it in Preferences > Add-ons > ScoreFit, "
                             "or choose the built-in emulator there.", "ERROR")

        snap = runner.snapshot()
        if snap is not None:
            left = f", {snap.time_left}" if snap.time_left else ""
            layout.progress(factor=snap.fraction, type="BAR", text=snap.stage)
            layout.label(text=f"{snap.elapsed:.0f} s elapsed{left}")
            layout.operator("scorefit.cancel", icon="CANCEL")
        else:
            layout.operator(SCOREFIT_OT_generate.bl_idname, icon="PLAY_SOUND")

        message = runner.state.message
        if message.text:
            _wrapped(layout.box(), message.text, "ERROR" if message.kind == "error" else "INFO")
        if message.offer_afresh and snap is None:
            layout.operator(SCOREFIT_OT_generate.bl_idname, text="Start Afresh",
                            icon="ERROR").start_afresh = True
        if settings.last_file and snap is None:
            row = layout.row(align=True)
            row.operator("scorefit.place_again", icon="SEQ_STRIP_DUPLICATE")
            row.operator("scorefit.open_folder", icon="FILE_FOLDER")
            row = layout.row(align=True)
            row.operator("scorefit.add_bar_markers", icon="MARKER_HLT")
            row.operator("scorefit.remove_bar_markers", text="", icon="X")
        active = compat.active_strip(scene)
        if active is not None and active.type == "SOUND":
            layout.separator()
            layout.operator("scorefit.fit_strip", icon="MOD_TIME")
            if active.get("scorefit_role"):
                layout.operator("scorefit.duck", icon="SPEAKER")


def menu_entry(self, context):
    self.layout.separator()
    self.layout.operator(SCOREFIT_OT_generate.bl_idname, text="Soundtrack (ScoreFit)", icon="PLAY_SOUND")


class SEQUENCER_MT_scorefit(bpy.types.Menu):
    """Strip ▸ ScoreFit: every ScoreFit action, which also puts each in F3 search."""
    bl_label = "ScoreFit"

    def draw(self, context):
        layout = self.layout
        layout.operator(SCOREFIT_OT_generate.bl_idname, icon="PLAY_SOUND")
        layout.operator("scorefit.cancel", icon="CANCEL")
        layout.operator("scorefit.derive_prompt", icon="FILE_REFRESH")
        layout.separator()
        layout.operator("scorefit.place_again", icon="SEQ_STRIP_DUPLICATE")
        layout.operator("scorefit.refit", icon="FILE_REFRESH")
        layout.operator("scorefit.open_folder", icon="FILE_FOLDER")
        layout.operator("scorefit.fit_strip", icon="MOD_TIME")
        layout.operator("scorefit.duck", icon="SPEAKER")
        layout.separator()
        layout.operator("scorefit.add_bar_markers", icon="MARKER_HLT")
        layout.operator("scorefit.remove_bar_markers", icon="X")


def strip_menu_entry(self, context):
    self.layout.separator()
    self.layout.menu(SEQUENCER_MT_scorefit.__name__)


classes = (SCOREFIT_PT_panel, SEQUENCER_MT_scorefit)
