"""The editor's choices (per scene, saved in the .blend) and the add-on preferences.

The API key and the service address are properties with get/set that read and write
ScoreFit's private config file, so they never land in userpref.blend or a project.
"""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, PointerProperty, StringProperty

from ..core import Choices, config, DEFAULT_MODEL, DEFAULT_STYLE, loudness_target, MODELS, TITLE_LIMIT

ADDON = __package__.rpartition(".")[0]      # "bl_ext.<repo>.scorefit" when installed


# A static list: Blender keeps no reference to strings returned by an items callback.
MODEL_ITEMS = [(name, name, f"Clips of up to about {info.max_seconds / 60:g} minutes per call")
               for name, info in MODELS.items()]


class ScoreFitSceneSettings(bpy.types.PropertyGroup):
    prompt: StringProperty(name="Prompt", description="What to ask MusicAPI for. Empty: derived "
                           "from the timeline (its length, markers and their words)")
    style: StringProperty(name="Style", default=DEFAULT_STYLE,
                          description="Style tags, comma separated (genre, instruments, mood)")
    instrumental: BoolProperty(name="Instrumental", default=True, description="No vocals")
    # No maxlen: Blender counts it in bytes and would cut a character in half; the core
    # cuts the title at TITLE_LIMIT characters.
    title: StringProperty(name="Title",
                          description=f"Track title (up to {TITLE_LIMIT} characters are sent). Empty: the scene's name")
    model: EnumProperty(name="Model", items=MODEL_ITEMS, default=DEFAULT_MODEL, description="MusicAPI model")
    output: EnumProperty(name="Source", items=[
        ("wav", "WAV", "Lossless source from the service (2 credits a clip)"),
        ("mp3", "MP3", "Compressed source, decoded by Blender's FFmpeg (no extra credits)")],
        default="wav")
    alternate: BoolProperty(name="Alternate Take", default=True,
                            description="Also place the job's second take, muted, on the next free channel")
    seed: IntProperty(name="Take", default=0, min=0,
                      description="Another number asks for a new take of the same request")
    loudness: EnumProperty(name="Loudness", default="off", description="The music's delivery loudness "
                           "(integrated, true peak at most -1 dBTP); no credits depend on it", items=[
                               ("off", "As Made", "Leave the music at the level it was made"),
                               ("streaming", "Streaming (-14 LUFS)", "Streaming platforms"),
                               ("web", "Web (-16 LUFS)", "Web video and podcasts"),
                               ("ebu-r128", "EBU R128 (-23 LUFS)", "European broadcast"),
                               ("atsc-a85", "ATSC A/85 (-24 LUFS)", "US broadcast")])
    # The last result, so that "Place Again" and "Open Folder" survive saving and reopening.
    last_file: StringProperty(subtype="FILE_PATH", options={"HIDDEN"})
    last_alternate: StringProperty(subtype="FILE_PATH", options={"HIDDEN"})
    last_sidecar: StringProperty(subtype="FILE_PATH", options={"HIDDEN"})
    # The last result's request: its song, for a Refit even when nothing could be placed.
    last_request_key: StringProperty(options={"HIDDEN"})
    # The bar markers ScoreFit added, as JSON [[frame, name], ...]: markers hold no custom
    # properties, and a name alone would take the editor's own "SF bar" markers for ours.
    bar_markers: StringProperty(options={"HIDDEN"})

    def choices(self) -> Choices:
        return Choices(prompt=self.prompt, style=self.style, instrumental=self.instrumental,
                       title=self.title, model=self.model, output=self.output,
                       alternate=self.alternate, seed=self.seed, loudness=loudness_target(self.loudness))


def _get_key(self):
    return config.get_api_key()


def _set_key(self, value):
    config.set_api_key(value)


def _get_base_url(self):
    return config.load_settings()["base_url"]


def _set_base_url(self, value):
    config.save_settings(base_url=value.strip() or config.DEFAULTS["base_url"])


class ScoreFitPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON

    service: EnumProperty(name="Service", items=[
        ("MUSICAPI", "MusicAPI", "The real service; spends credits"),
        ("EMULATOR", "Built-in Emulator", "A local stand-in for trying ScoreFit: free, synthetic music")],
        default="MUSICAPI")
    api_key: StringProperty(name="API Key", subtype="PASSWORD", get=_get_key, set=_set_key,
                            description="Your MusicAPI key. Kept in ScoreFit's private config file "
                                        "(or MUSICAPI_KEY), never in a .blend")
    base_url: StringProperty(name="Address", get=_get_base_url, set=_set_base_url,
                             description="MusicAPI's address")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "service", expand=True)
        if self.service == "MUSICAPI":
            layout.prop(self, "api_key")
            source = config.key_source()
            layout.label(text=f"Key stored in {source}" if source else "No key set yet",
                         icon="LOCKED" if source else "ERROR")
            layout.prop(self, "base_url")
        else:
            layout.label(text="Music from the emulator is synthetic; no credits are spent.", icon="INFO")


def preferences(context=None):
    addon = (context or bpy.context).preferences.addons.get(ADDON)
    return addon.preferences if addon else None


classes = (ScoreFitSceneSettings, ScoreFitPreferences)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.scorefit = PointerProperty(type=ScoreFitSceneSettings)


def unregister():
    del bpy.types.Scene.scorefit
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
