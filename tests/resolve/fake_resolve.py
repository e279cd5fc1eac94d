"""A faithful fake of DaVinci Resolve's scripting API, from Blackmagic's README and the
measured behaviour in shared/resolve-api.md:

- settings and clip properties are strings (except a clip's "FPS");
- ``GetStartFrame`` follows the start timecode at the *nominal* rate (01:00:00:00 at 23.976 → 86400);
- ``GetEndFrame`` is exclusive (``inclusive_end=True`` flips it, to check what the adapter assumes);
- marker keys are floats relative to the timeline start;
- ``AppendToTimeline``: ``recordFrame`` absolute, ``endFrame`` exclusive and counted in the clip's
  FPS, the record length floored at mixed rates, an overlapping or locked-track append dropped
  silently (returns ``[]``/``[None]``); no ``trackIndex``/``recordFrame`` before 18.5;
- ``ImportMedia`` imports into the current folder only; the same path twice returns ``[]``;
- unknown calls (or calls a version lacks) return ``None``; every call is logged for the parity test;
- ``fusion.UIManager`` is ``None`` on the free edition from 19.1.
"""
from __future__ import annotations

import math
import wave
from fractions import Fraction
from itertools import count

# Methods Blackmagic's README lists, per object, with the version that added them.
README_API = {
    "Resolve": {"GetVersion": (17,), "GetProjectManager": (17,), "Fusion": (17,), "GetProductName": (17,),
                "GetVersionString": (17,)},
    "ProjectManager": {"GetCurrentProject": (17,)},
    "Project": {"GetMediaPool": (17,), "GetCurrentTimeline": (17,), "GetName": (17,), "GetSetting": (17,)},
    "MediaPool": {"GetRootFolder": (17,), "AddSubFolder": (17,), "GetCurrentFolder": (17,),
                  "SetCurrentFolder": (17,), "ImportMedia": (17,), "AppendToTimeline": (17,)},
    "Folder": {"GetName": (17,), "GetSubFolderList": (17,), "GetClipList": (17,)},
    "MediaPoolItem": {"GetName": (17,), "GetClipProperty": (17,), "SetClipProperty": (17,),
                      "SetMetadata": (17,), "GetMetadata": (17,)},
    "Timeline": {"GetName": (17,), "GetStartFrame": (17,), "GetEndFrame": (17,), "GetStartTimecode": (18,),
                 "GetSetting": (17,), "GetTrackCount": (17,), "GetItemListInTrack": (17,),
                 "GetMarkers": (17,), "AddMarker": (17,), "AddTrack": (18, 5),
                 "GetIsTrackLocked": (18, 5), "SetTrackLock": (18, 5), "GetIsTrackEnabled": (18, 5),
                 "DeleteClips": (18, 5)},
    "TimelineItem": {"GetName": (17,), "GetStart": (17,), "GetEnd": (17,), "GetDuration": (17,),
                     "GetMediaPoolItem": (17,), "GetUniqueId": (18,), "GetTrackTypeAndIndex": (19,),
                     "SetClipEnabled": (18,), "GetClipEnabled": (18,), "AddMarker": (17,),
                     "GetMarkers": (17,)},
}
# The Workflow Integration README's UIManager surface the dialog uses.
UI_API = {"AddWindow", "VGroup", "HGroup", "Label", "TextEdit", "LineEdit", "CheckBox", "ComboBox",
          "Button", "Timer", "UIDispatcher", "RunLoop", "ExitLoop", "GetItems", "Show", "Hide",
          "AddItems", "Start", "Stop"}

NOMINAL = {"23.976": 24, "24": 24, "25": 25, "29.97": 30, "30": 30, "50": 50, "59.94": 60, "60": 60}
EXACT = {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001), "59.94": Fraction(60000, 1001)}

CALLS: list[tuple[str, str]] = []


class _Api:
    """Logs every README-style call; unknown or too-new methods return None, as Resolve does."""
    _kind = ""

    def __init__(self, app):
        object.__setattr__(self, "_app", app)

    def __getattribute__(self, name):
        if name[:1].isupper():
            kind = type(self)._kind
            CALLS.append((kind, name))
            since = README_API.get(kind, {}).get(name)
            app = object.__getattribute__(self, "_app")
            if since is None or app.version < since:
                return lambda *a, **k: None
        return object.__getattribute__(self, name)


def _rate(text: str) -> Fraction:
    return EXACT.get(text, Fraction(text))


def _tc_frames(timecode: str, nominal: int) -> int:
    h, m, s, f = (int(x) for x in timecode.replace(";", ":").split(":"))
    return ((h * 60 + m) * 60 + s) * nominal + f


class FakeItem(_Api):
    _kind = "TimelineItem"
    _ids = count(1)

    def __init__(self, app, clip, start, length, track, uid=True):
        super().__init__(app)
        self.clip, self.start, self.length, self.track = clip, start, length, track
        self.uid = f"item-{next(self._ids)}" if uid else ""
        self.enabled, self.markers = True, {}

    def GetName(self): return self.clip.name if self.clip else "Video"
    def GetStart(self): return self.start
    def GetEnd(self): return self.start + self.length
    def GetDuration(self): return self.length
    def GetMediaPoolItem(self): return _Handle(self.clip) if self.clip is not None else None
    def GetUniqueId(self): return self.uid
    def GetTrackTypeAndIndex(self): return ["audio", self.track]
    def GetClipEnabled(self): return self.enabled

    def SetClipEnabled(self, enabled):
        self.enabled = bool(enabled)
        return True

    def GetMarkers(self): return {float(k): dict(v) for k, v in self.markers.items()}

    def AddMarker(self, frame, color, name, note, duration, custom=""):
        # Frames count from the item's own first frame; a marker outside it is refused.
        if not 0 <= frame < self.length or float(frame) in self.markers:
            return False
        self.markers[float(frame)] = {"color": color, "name": name, "note": note,
                                      "duration": float(duration), "customData": custom}
        return True


class _Handle:
    """Resolve answers every call with a new proxy object, so ``is`` never matches two
    answers about the same clip: neither does this."""

    def __init__(self, target):
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name):
        return getattr(object.__getattribute__(self, "_target"), name)


def _unwrap(obj):
    return obj._target if isinstance(obj, _Handle) else obj


class FakeClip(_Api):
    _kind = "MediaPoolItem"

    def __init__(self, app, path, fps: Fraction):
        super().__init__(app)
        self.path, self.fps = path, fps
        with wave.open(path) as w:
            self.seconds = Fraction(w.getnframes(), w.getframerate())
        self.frames = math.floor(self.seconds * fps)
        self.name = path.rsplit("/", 1)[-1]
        self.metadata = {}
        # The Media Pool's Comments column is a clip property of its own: SetMetadata
        # ("Comments") does not fill it (as reported against Resolve), SetClipProperty does.
        self.comments = ""

    def GetName(self): return self.name

    def GetClipProperty(self, name=None):
        props = {"File Path": self.path, "Frames": str(self.frames), "FPS": float(self.fps),
                 "Clip Name": self.name, "Type": "Audio", "Comments": self.comments}
        return props if name is None else props.get(name, "")

    def SetClipProperty(self, name, value):
        if name != "Comments":
            return False          # the read-only ones (Frames, FPS, File Path, …)
        self.comments = str(value)
        return True

    def SetMetadata(self, key, value=None):
        self.metadata[key] = str(value)
        return True

    def GetMetadata(self, key=None):
        return dict(self.metadata) if key is None else self.metadata.get(key, "")


class FakeFolder(_Api):
    _kind = "Folder"

    def __init__(self, app, name):
        super().__init__(app)
        self.name, self.subfolders, self.clips = name, [], []

    def GetName(self): return self.name
    def GetSubFolderList(self): return list(self.subfolders)
    def GetClipList(self): return list(self.clips)


class FakeMediaPool(_Api):
    _kind = "MediaPool"

    def __init__(self, app):
        super().__init__(app)
        self.root = FakeFolder(app, "Master")
        self.current = self.root

    def GetRootFolder(self): return self.root

    def AddSubFolder(self, parent, name):
        folder = FakeFolder(self._app, name)
        parent.subfolders.append(folder)
        return folder

    def GetCurrentFolder(self): return self.current

    def SetCurrentFolder(self, folder):
        self.current = folder
        return True

    def ImportMedia(self, paths):
        app = self._app
        out = []
        for path in paths:
            path = path["FilePath"] if isinstance(path, dict) else path
            if any(c.path == path for f in app.all_folders() for c in f.clips):
                continue                      # already in the pool: Resolve imports nothing
            clip = FakeClip(app, path, _rate(app.project.settings["timelineFrameRate"]))
            self.current.clips.append(clip)   # the current folder, only
            out.append(clip)
        return out

    def AppendToTimeline(self, infos):
        app = self._app
        timeline = app.project.timeline
        placed = []
        for info in infos:
            clip = _unwrap(info["mediaPoolItem"])
            start, end = info.get("startFrame", 0), info.get("endFrame", clip.frames)
            if app.version >= (18, 5):
                track, record = info.get("trackIndex", 1), info.get("recordFrame", timeline.end)
            else:                              # no placement keys before 18.5: appended at the end
                track, record = 1, timeline.end
            length = math.floor(Fraction(end - start) / clip.fps * timeline.rate)
            spans = timeline.tracks.get(track)
            blocked = (spans is None or track in timeline.locked or app.drop_next_append
                       or end > clip.frames or any(          # more source than the clip has: refused
                i.start < record + length and record < i.GetEnd() for i in spans))
            if blocked:
                app.drop_next_append = False
                placed.append(None)            # silently dropped
                continue
            item = FakeItem(app, clip, int(record), length, track)
            spans.append(item)
            placed.append(item)
        return [p for p in placed if p is not None] if app.drop_returns_empty else placed


class FakeTimeline(_Api):
    _kind = "Timeline"

    def __init__(self, app, name, rate: str, start_tc: str, frames: int, drop_frame=False,
                 inclusive_end=False):
        super().__init__(app)
        self.name, self.rate_text = name, rate
        self.rate = _rate(rate)
        self.start = _tc_frames(start_tc, NOMINAL[rate])
        self.start_tc, self.frames, self.inclusive_end = start_tc, frames, inclusive_end
        self.settings = {"timelineFrameRate": rate, "timelineDropFrameTimecode": "1" if drop_frame else "0",
                         "timelineResolutionWidth": "1920", "timelineResolutionHeight": "1080"}
        self.markers = {}
        self.tracks = {1: []}
        self.locked = set()

    @property
    def end(self): return self.start + self.frames

    def GetName(self): return self.name
    def GetStartFrame(self): return self.start
    def GetEndFrame(self): return self.end - (1 if self.inclusive_end else 0)
    def GetStartTimecode(self): return self.start_tc
    def GetSetting(self, name=None): return dict(self.settings) if name is None else self.settings.get(name, "")
    def GetTrackCount(self, kind): return len(self.tracks) if kind == "audio" else 1

    def GetItemListInTrack(self, kind, index):
        return list(self.tracks.get(index, [])) if kind == "audio" else []

    def GetMarkers(self): return {float(k): dict(v) for k, v in self.markers.items()}

    def AddMarker(self, frame, color, name, note, duration, custom=""):
        self.markers[float(frame)] = {"color": color, "name": name, "note": note,
                                      "duration": float(duration), "customData": custom}
        return True

    def AddTrack(self, kind, sub=None):
        if kind != "audio":
            return False
        if isinstance(sub, dict) and self._app.version < (19,):
            return False                       # the options dict arrived in 19.0
        self.added_types = getattr(self, "added_types", []) + [sub]
        self.tracks[len(self.tracks) + 1] = []
        return True

    def GetIsTrackLocked(self, kind, index): return index in self.locked

    def SetTrackLock(self, kind, index, locked):
        (self.locked.add if locked else self.locked.discard)(index)
        return True

    def GetIsTrackEnabled(self, kind, index): return True

    def DeleteClips(self, items, ripple=False):
        # Measured: acts only on the project's current timeline (False otherwise).
        if self._app.project.timeline is not self or ripple:
            return False
        for item in items:
            spans = self.tracks.get(item.track, [])
            if item not in spans:
                return False
            spans.remove(item)
        return True

    # test helpers (lower case: not part of the API)
    def occupy(self, track, start, length):
        self.tracks.setdefault(track, [])
        self.tracks[track].append(FakeItem(self._app, None, start, length, track))


class FakeProject(_Api):
    _kind = "Project"

    def __init__(self, app, timeline):
        super().__init__(app)
        self.timeline = timeline
        self.settings = {"timelineFrameRate": timeline.rate_text if timeline else "24"}
        self.pool = FakeMediaPool(app)

    def GetMediaPool(self): return self.pool
    def GetCurrentTimeline(self): return self.timeline
    def GetName(self): return "Project"
    def GetSetting(self, name=None): return dict(self.settings) if name is None else self.settings.get(name, "")


class FakeProjectManager(_Api):
    _kind = "ProjectManager"

    def GetCurrentProject(self): return self._app.project


class FakeUI:
    """fusion.UIManager: elements are dicts with attributes; the loop fires timers and runs
    ``actions``, a generator the test gives, between iterations."""

    def __init__(self):
        self.actions = None
        self.window = None
        # ui.Timer is not in the Workflow Integration README: tests switch it off to check
        # that nothing depends on it.
        self.timers_fire = True

    def __getattr__(self, name):
        if name in ("VGroup", "HGroup"):
            return lambda children: _Element(name, {"children": children})
        if name in UI_API:
            return lambda props: _Element(name, props)
        raise AttributeError(name)


class _Element:
    def __init__(self, kind, props):
        self.kind = kind
        self.__dict__.update({k: v for k, v in props.items() if k != "children"})
        self.children = props.get("children", [])
        self.items, self.CurrentIndex, self.running = [], 0, False
        self.Enabled, self.Checked = props.get("Enabled", True), props.get("Checked", False)
        self.Text, self.PlainText = props.get("Text", ""), ""

    def AddItems(self, items): self.items.extend(items)
    def Start(self): self.running = True
    def Stop(self): self.running = False


class _Handlers:
    def __init__(self):
        object.__setattr__(self, "by_id", {})

    def __getattr__(self, element_id):
        return self.by_id.setdefault(element_id, _Slot())


class _Slot:
    pass


class FakeWindow:
    def __init__(self, props, layout):
        self.props, self.layout, self.On, self.shown = props, layout, _Handlers(), False

    def GetItems(self):
        found, stack = {}, [self.layout]
        while stack:
            element = stack.pop()
            if getattr(element, "ID", None):
                found[element.ID] = element
            stack.extend(element.children)
        return found

    def Show(self): self.shown = True
    def Hide(self): self.shown = False

    def fire(self, element_id, event):
        handler = getattr(self.On.by_id.get(element_id, _Slot()), event, None)
        if handler:
            handler({"who": element_id})


class FakeDispatcher:
    def __init__(self, ui):
        self.ui, self.running = ui, False

    def AddWindow(self, props, layout):
        self.ui.window = FakeWindow(props, layout)
        return self.ui.window

    def RunLoop(self):
        import time
        self.running = True
        actions = self.ui.actions(self.ui.window) if self.ui.actions else iter(())
        while self.running:
            for element_id, element in self.ui.window.GetItems().items():
                if element.kind == "Timer" and element.running and self.ui.timers_fire:
                    self.ui.window.fire(element_id, "Timeout")
            try:
                next(actions)
            except StopIteration:
                self.running = False
            time.sleep(0.02)

    def ExitLoop(self): self.running = False


class FakeBmd:
    def UIDispatcher(self, ui): return FakeDispatcher(ui)


class FakeFusion:
    def __init__(self, app):
        self._app = app
        self._ui = FakeUI()

    @property
    def UIManager(self):
        if not self._app.studio and self._app.version >= (19, 1):
            return None
        return self._ui


class FakeResolve(_Api):
    """``FakeResolve(version=(19, 1), studio=False, timeline=...)``; see the module docstring."""
    _kind = "Resolve"

    def __init__(self, version=(20, 2, 0), studio=True, timeline=None):
        super().__init__(self)
        object.__setattr__(self, "version", tuple(version))
        self.studio = studio
        self.project = FakeProject(self, timeline or FakeTimeline(self, "Cut", "24", "01:00:00:00", 2880))
        if timeline is not None:
            object.__setattr__(timeline, "_app", self)
        self.drop_next_append = False
        self.drop_returns_empty = False
        self.fusion = FakeFusion(self)

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)

    def GetVersion(self): return [*self.version, *(0,) * (3 - len(self.version)), 7, ""]
    def GetVersionString(self): return ".".join(map(str, self.version))
    def GetProductName(self): return "DaVinci Resolve Studio" if self.studio else "DaVinci Resolve"
    def GetProjectManager(self): return FakeProjectManager(self)
    def Fusion(self): return self.fusion

    def all_folders(self):
        stack, out = [self.project.pool.root], []
        while stack:
            folder = stack.pop()
            out.append(folder)
            stack.extend(folder.subfolders)
        return out

    def namespace(self) -> dict:
        """The globals Resolve gives a Workspace ▸ Scripts script."""
        return {"resolve": self, "fusion": self.fusion, "bmd": FakeBmd()}
