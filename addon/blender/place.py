"""Put a fitted soundtrack on the scene: at ``frame_start``, on the lowest channel free over
the whole range, exactly the timeline's length; all or nothing."""
from __future__ import annotations

import time
from pathlib import Path

import bpy

from ..core import host, PlacementError, Provenance, first_free_lane, lane_is_free
from . import compat
from .read import timeline_from_scene

MAX_CHANNEL = 128      # Blender's sequencer has channels 1-128
PROP = "scorefit_"     # custom properties on placed strips carry this prefix


# Main-thread time spent inside Blender's own new_sound (opening the file with Audaspace),
# so benchmarks can tell Blender's cost from ScoreFit's.
blender_seconds = 0.0


def occupied(scene) -> dict[int, list[tuple[int, int]]]:
    lanes: dict[int, list[tuple[int, int]]] = {}
    for strip in compat.top_strips(scene):
        lanes.setdefault(strip.channel, []).append(compat.span(strip))
    # A muted channel plays nothing and a locked one is the editor's: neither is free.
    everything = (scene.frame_start - 1, scene.frame_end + 2)
    for number, channel in enumerate(getattr(scene.sequence_editor, "channels", ())):
        if number and (channel.mute or channel.lock):
            lanes.setdefault(number, []).append(everything)
    return lanes


def choose_channels(scene, alternate: bool) -> tuple[int, int | None]:
    wanted = (scene.frame_start, scene.frame_end + 1)
    lanes = occupied(scene)
    primary = first_free_lane(lanes, wanted, last=MAX_CHANNEL)
    if primary is None:
        raise PlacementError(f"No channel is free from frame {wanted[0]} to {wanted[1] - 1}; "
                             "free one (or shorten the scene) and press Place again.")
    second = None
    if alternate:
        second = first_free_lane(lanes, wanted, first=primary + 1, last=MAX_CHANNEL)
    return primary, second


def add_strip(scene, name: str, path: Path, channel: int, frames: int):
    """One sound strip at the scene's start, exactly ``frames`` long, or PlacementError."""
    global blender_seconds
    strips = compat.top_strips(scene)
    filepath = bpy.path.relpath(str(path)) if bpy.data.filepath else str(path)
    began = time.perf_counter()
    strip = strips.new_sound(name=name, filepath=filepath, channel=channel, frame_start=scene.frame_start)
    blender_seconds += time.perf_counter() - began
    first, after = compat.span(strip)
    if after - first != frames:
        # The fitted file holds exactly the timeline's samples; Blender's own frame count
        # may round the other way at rates where a frame is not a whole number of samples.
        compat.set_length(strip, frames)
        first, after = compat.span(strip)
    if (strip.channel, first, after - first) != (channel, scene.frame_start, frames):
        got = (strip.channel, first, after - first)
        strips.remove(strip)
        raise PlacementError(f"Blender placed the strip at channel/start/length {got} instead of "
                             f"{(channel, scene.frame_start, frames)}; nothing was placed.")
    return strip


def place(scene, primary: Path, alternate: Path | None, provenance: dict) -> list:
    """Add the strips (primary first) and return them. Raises PlacementError with nothing added."""
    if not compat.has_audio():
        raise PlacementError("This Blender build has no audio support (Audaspace), so it cannot "
                             "hold sound strips.")
    for path in filter(None, (primary, alternate)):
        if not Path(bpy.path.abspath(str(path))).is_file():
            raise PlacementError(f"The soundtrack file is missing: {path}. Generate again "
                                 "(paid steps are kept in the library).")
    frames = scene.frame_end - scene.frame_start + 1
    channel, alt_channel = choose_channels(scene, alternate is not None)
    title = provenance.title or "Soundtrack"
    added = []
    try:
        strip = add_strip(scene, f"ScoreFit {title}", primary, channel, frames)
        added.append(strip)
        _tag(strip, provenance, "primary", primary)
        if alternate is not None and alt_channel is not None:
            alt = add_strip(scene, f"ScoreFit {title} (alternate)", alternate, alt_channel, frames)
            added.append(alt)
            alt.mute = True
            _tag(alt, provenance, "alternate", alternate)
    except BaseException:
        strips = compat.top_strips(scene)
        for strip in reversed(added):
            strips.remove(strip)
        raise
    return added


def _tag(strip, provenance: Provenance, role: str, path: Path):
    strip[PROP + "role"] = role
    strip[PROP + "clip_id"] = provenance.clip_id(role)
    strip[PROP + "task_ids"] = ", ".join(provenance.task_ids)
    strip[PROP + "prompt"] = provenance.prompt
    strip[PROP + "model"] = provenance.model
    strip[PROP + "file"] = str(path)
    strip[PROP + "sidecar"] = str(Path(path).with_suffix(".json"))
    strip[PROP + "request_key"] = provenance.request_key
    strip[PROP + "service"] = provenance.service
    strip[PROP + "origin"] = provenance.origin


def placed_strip(scene):
    """The ScoreFit soundtrack placed in ``scene`` (the primary take), preferring one that
    starts at the scene's start; None when there is none."""
    placed = [s for s in compat.top_strips(scene) if s.get(PROP + "role") == "primary"]
    placed.sort(key=lambda s: (compat.span(s)[0] != scene.frame_start, s.channel))
    return placed[0] if placed else None


def out_of_step(scene) -> str:
    """Why the placed soundtrack no longer matches the scene's range ("" when it does)."""
    strip = placed_strip(scene)
    if strip is None:
        return ""
    first, after = compat.span(strip)
    if (first, after) == (scene.frame_start, scene.frame_end + 1):
        return ""
    return (f"The soundtrack covers frames {first} to {after - 1}; the scene now runs from "
            f"{scene.frame_start} to {scene.frame_end}.")


def replace_strip(scene, name: str, path: Path, provenance: dict):
    """Put ``path`` where the strip ``name`` is (same channel, the scene's range now), keeping
    the editor's volume and mute. All or nothing: the old strip is back if the new one fails."""
    strips = compat.top_strips(scene)
    old = strips.get(name)
    if old is None:
        raise PlacementError(f"The strip '{name}' is gone, so there is nothing to refit.")
    channel = old.channel
    wanted = (scene.frame_start, scene.frame_end + 1)
    others = [compat.span(s) for s in strips if s.channel == channel and s != old]
    if not lane_is_free(others, wanted):
        raise PlacementError(f"Channel {channel} is not free from frame {wanted[0]} to {wanted[1] - 1}; "
                             "move what is there and press Refit again.")
    kept = {"volume": old.volume, "mute": old.mute, "file": old.sound.filepath if old.sound else "",
            "span": compat.span(old), "name": old.name}
    strips.remove(old)
    try:
        strip = add_strip(scene, kept["name"], path, channel, wanted[1] - wanted[0])
    except BaseException:
        back = strips.new_sound(name=kept["name"], filepath=kept["file"], channel=channel,
                                frame_start=kept["span"][0])
        compat.set_length(back, kept["span"][1] - kept["span"][0])
        raise
    strip.volume, strip.mute = kept["volume"], kept["mute"]
    _tag(strip, provenance, "primary", path)
    return strip


class SceneHost:
    """ScoreFit's host contract (:mod:`core.host`) on a Blender scene."""

    def __init__(self, scene):
        self.scene = scene

    def read_timeline(self):
        return timeline_from_scene(self.scene)

    def placed(self) -> host.Placed | None:
        strip = placed_strip(self.scene)
        if strip is None:
            return None
        return host.Placed(str(strip.get(PROP + "request_key", "")), f"'{strip.name}' on channel {strip.channel}",
                           strip.name)

    def place(self, result, replacing: host.Placed | None = None) -> host.Placement:
        notes = []
        if replacing is not None:
            strip = replace_strip(self.scene, replacing.handle, result.primary, result.provenance)
            notes += self._drop_old_alternate(replacing.request_key)
        else:
            placed = place(self.scene, result.primary, result.alternate, result.provenance)
            strip = placed[0]
            if result.alternate is not None and len(placed) == 1:
                notes.append(f"The alternate take was not placed: no second channel is free over the "
                             f"scene's range (it is at {result.alternate}).")
        first, after = compat.span(strip)
        verb = "Refitted" if replacing is not None else "Placed"
        return host.Placement(" ".join([f"{verb} '{strip.name}' on channel {strip.channel} from frame {first}, "
                                        f"{after - first} frames.", *notes]))

    def _drop_old_alternate(self, request_key: str) -> list[str]:
        """The muted alternate of the song just refitted still covers the old range: it goes
        (a Refit fits the main take only), and the outcome says so."""
        strips = compat.top_strips(self.scene)
        old = [s for s in strips if s.get(PROP + "role") == "alternate" and s.get(PROP + "request_key") == request_key]
        for strip in old:
            strips.remove(strip)
        return ["The muted alternate take, fitted to the old range, was removed (a Refit fits the main "
                "take only)."] if old else []
