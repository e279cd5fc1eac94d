"""The built extension in real Blender: package, registration, keymap, settings, key safety."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
import stat
import zipfile

import bpy
import pytest

from blender_helpers import MODULE

pytestmark = pytest.mark.blender


def test_zip_holds_package_manifest_and_wheels(built_zip):
    names = zipfile.ZipFile(built_zip).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    assert "blender/__init__.py" in names and "core/pipeline.py" in names
    wheels = {n.split("/")[1].split("-")[0] for n in names if n.startswith("wheels/")}
    assert wheels == {"requests", "urllib3", "idna", "certifi", "charset_normalizer", "pydub",
                      "platformdirs", "audioop_lts"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_installed_dependencies_come_from_the_bundled_wheels(extension, built_zip):
    """Blender installed every wheel the zip bundles for this Python into the extensions'
    site-packages, and each imports from there alone (not from the test's venv)."""
    local = Path(bpy.utils.user_resource("EXTENSIONS", path=".local"))
    site = local / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    wheels = [Path(n).name for n in zipfile.ZipFile(built_zip).namelist() if n.startswith("wheels/")]
    for wheel in wheels:
        name, version, python = wheel.split("-")[:3]
        if python.startswith("cp") and python != f"cp{sys.version_info.major}{sys.version_info.minor}":
            continue                    # audioop-lts: only Python 3.13 (Blender 5.2) needs it
        assert (site / f"{name}-{version}.dist-info").is_dir(), f"{wheel} is not installed in {site}"
    probe = "import pydub, platformdirs, requests, urllib3; print(pydub.__file__, platformdirs.__file__)"
    done = subprocess.run([sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {probe}"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert all(path.startswith(str(site)) for path in done.stdout.split())


def test_registers_and_unregisters_twice_cleanly(extension):
    keymap = bpy.context.window_manager.keyconfigs.addon.keymaps["Sequencer"]
    for _ in range(2):
        bpy.ops.preferences.addon_disable(module=MODULE)
        assert not hasattr(bpy.types.Scene, "scorefit")
        assert not hasattr(bpy.types, "SCOREFIT_OT_generate")
        assert not [i for i in keymap.keymap_items if i.idname == "scorefit.generate"]
        bpy.ops.preferences.addon_enable(module=MODULE)
        assert hasattr(bpy.types.Scene, "scorefit")
        assert hasattr(bpy.types, "SCOREFIT_OT_generate")
        assert len([i for i in keymap.keymap_items if i.idname == "scorefit.generate"]) == 1


def test_shortcut_is_ctrl_shift_m_in_the_sequencer(extension):
    keymap = bpy.context.window_manager.keyconfigs.addon.keymaps["Sequencer"]
    items = [i for i in keymap.keymap_items if i.idname == "scorefit.generate"]
    assert len(items) == 1
    item = items[0]
    assert (item.type, item.value, item.ctrl, item.shift, item.alt) == ("M", "PRESS", True, True, False)
    assert keymap.space_type == "SEQUENCE_EDITOR"
    assert "Ctrl Shift M" in bpy.types.SCOREFIT_OT_generate.bl_description


def test_generate_is_in_the_sequencer_add_menu(extension):
    draw_funcs = bpy.types.SEQUENCER_MT_add._dyn_ui_initialize()
    assert extension.blender.ui.menu_entry in draw_funcs


def test_panel_draws_in_the_sequencer_sidebar(extension, scene):
    panel = bpy.types.SCOREFIT_PT_panel
    assert (panel.bl_space_type, panel.bl_region_type, panel.bl_category) == (
        "SEQUENCE_EDITOR", "UI", "ScoreFit")
    assert panel.is_registered and not hasattr(panel, "poll") or panel.poll(bpy.context)
    drawn = _draw(scene)            # Blender as a module has no redraw: the panel's own draw()
    assert ("operator", "scorefit.generate") in drawn and len(drawn) > 10


def test_api_key_never_lands_in_a_blend(extension, prefs, scene, tmp_path):
    secret = "sk-live-5c0reF1t-DO-NOT-STORE"
    prefs.api_key = secret
    assert prefs.api_key == secret                      # the field shows it (masked)
    from scorefit.core import config
    assert config.get_api_key() == secret
    assert stat.S_IMODE(os.stat(config.config_path()).st_mode) == 0o600
    scene.scorefit.prompt = "a calm piano"
    blend = tmp_path / "project.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True, compress=False)
    bpy.ops.wm.save_userpref()
    userpref = os.path.join(bpy.utils.user_resource("CONFIG"), "userpref.blend")
    for path in (blend, userpref):
        data = open(path, "rb").read()
        assert secret.encode() not in data, path
    assert b"a calm piano" in blend.read_bytes()        # the grep would have found a stored string
    prefs.api_key = ""
    assert config.get_api_key() == ""


class _Layout:
    """Stands in for bpy.types.UILayout (which only exists while Blender draws a region):
    records what the panel draws and checks every property and operator it names exists."""

    def __init__(self, log):
        self.log, self.enabled = log, True

    def _child(self, *args, **kw):
        return _Layout(self.log)
    box = column = row = _child

    def label(self, text="", icon="NONE"):
        self.log.append(("label", text))

    def separator(self):
        pass

    def menu(self, idname, **kw):
        assert hasattr(bpy.types, idname), idname
        self.log.append(("menu", idname))

    def prop(self, data, name, **kw):
        assert name in data.bl_rna.properties, name
        self.log.append(("prop", name))

    def operator(self, idname, **kw):
        module, _, name = idname.partition(".")
        assert hasattr(getattr(bpy.ops, module), name), idname
        self.log.append(("operator", kw.get("text") or idname))
        return type("OperatorProperties", (), {})()

    def progress(self, factor=0.0, type="BAR", text=""):
        assert 0.0 <= factor <= 1.0
        self.log.append(("progress", text))


def _draw(scene):
    log = []
    panel = type("Panel", (), {"layout": _Layout(log)})()
    bpy.types.SCOREFIT_PT_panel.draw(panel, type("Ctx", (), {
        "scene": scene, "preferences": bpy.context.preferences})())
    return log


def test_panel_shows_the_timeline_the_prompt_and_the_plan_then_progress(extension, scene, monkeypatch):
    scene.timeline_markers.new("tense build", frame=1200)
    log = _draw(scene)
    labels = " ".join(text for kind, text in log if kind == "label")
    assert "00:02:00:00" in labels and "120.00 s" in labels and "24 fps" in labels
    assert "starts at frame 1" in labels and "1 marker" in labels
    assert "tense" in labels and "credits" in labels
    assert ("operator", "scorefit.generate") in log and ("operator", "Derive") in log
    assert {"style", "title", "instrumental", "model", "output", "alternate", "seed"} <= {
        name for kind, name in log if kind == "prop"}
    # while a job runs: progress bar with the stage, elapsed time, Cancel
    runner = extension.blender.runner
    snap = extension.core.session.Snapshot("running", stage="Extending 2/3", fraction=0.4, elapsed=12.0)
    monkeypatch.setattr(runner, "snapshot", lambda: snap)
    log = _draw(scene)
    assert ("progress", "Extending 2/3") in log and ("operator", "scorefit.cancel") in log
    assert any(kind == "label" and text.startswith("12 s elapsed") for kind, text in log)
    assert ("operator", "scorefit.generate") not in log
    late = extension.core.session.Snapshot("running", stage="Generating", fraction=0.9, elapsed=80.0,
                                           remaining=0.0, overdue=True)
    monkeypatch.setattr(runner, "snapshot", lambda: late)
    assert ("label", "80 s elapsed, taking longer than forecast") in _draw(scene)
    # after a lost answer: the message, and Start Afresh
    monkeypatch.setattr(runner, "snapshot", lambda: None)
    monkeypatch.setattr(runner.state, "message", runner.Message("error", "answer lost", True))
    log = _draw(scene)
    assert ("label", "answer lost") in log and ("operator", "Start Afresh") in log


def test_a_very_short_cut_is_warned_about_and_generate_asks_first(extension, scene):
    scene.frame_end = scene.frame_start          # one frame
    labels = " ".join(text for kind, text in _draw(scene) if kind == "label")
    assert "only 1 frame" in labels and "Generate asks first" in labels
    asked = {}

    class Manager:
        bl_rna = bpy.context.window_manager.bl_rna

        def invoke_confirm(self, operator, event, **kw):
            asked.update(kw, called=True)
            return {"RUNNING_MODAL"}

    context = type("Ctx", (), {"scene": scene, "window_manager": Manager()})()
    result = bpy.types.SCOREFIT_OT_generate.invoke(None, context, None)
    assert result == {"RUNNING_MODAL"} and asked["called"]
    assert "only 1 frame" in asked.get("message", "only 1 frame")


def test_the_panel_says_when_the_placed_soundtrack_no_longer_spans_the_scene(extension, scene):
    from blender_helpers import add_color_strip
    strip = add_color_strip(scene, 1, 1, 2881)
    strip["scorefit_role"] = "primary"
    assert "no longer" not in " ".join(t for k, t in _draw(scene) if k == "label")
    scene.frame_end = 3000                       # the editor lengthened the cut
    drawn = _draw(scene)
    labels = " ".join(text for kind, text in drawn if kind == "label")
    assert "covers frames 1 to 2880" in labels and "from 1 to 3000" in labels and "Refit" in labels
    assert ("operator", "scorefit.refit") in drawn
    # A strip fitted with Fit Strip to Cut is pointed to that (free) instead.
    strip["scorefit_role"] = "fitted"
    labels = " ".join(text for kind, text in _draw(scene) if kind == "label")
    assert "covers frames 1-2880" in labels and "1-3000" in labels and "Fit Strip to Cut" in labels


def test_every_action_is_in_the_scorefit_menu_with_a_tooltip(extension):
    """F3 (menu search) finds what is in a menu: Strip ▸ ScoreFit lists every action."""
    log = []
    menu = type("Menu", (), {"layout": _Layout(log)})()
    bpy.types.SEQUENCER_MT_scorefit.draw(menu, bpy.context)
    listed = {name for kind, name in log if kind == "operator"}
    actions = {cls.bl_idname for cls in extension.blender.ops.classes if "INTERNAL" not in getattr(cls, "bl_options", ())}
    assert actions == listed
    for cls in extension.blender.ops.classes:
        assert cls.bl_description if "INTERNAL" not in getattr(cls, "bl_options", ()) else True, cls
    assert extension.blender.ui.strip_menu_entry in bpy.types.SEQUENCER_MT_strip._dyn_ui_initialize()
