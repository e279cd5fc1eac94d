"""ScoreFit's host-free core: timeline model, prompt and plan, MusicAPI client, pipeline,
fitting and storage. Nothing here may import a host (bpy, DaVinciResolveScript); a test
enforces it, so the same code serves Blender, Resolve and the command line.

This module is the front door: hosts import what they use from here alone (a test holds
them to it), so the core's inner layout can change without touching a host. Every error
a host must handle derives from :class:`ScoreFitError`.
"""
from . import bars, config, host
from .audio import Audio, AudioError, load, write_wav
from .ducking import speech_keyframes
from .bars import BAR, PHRASE
from .errors import InputError, PlacementError, PreflightError, RefitError, ScoreFitError
from .fit import FitError, FitReport
from .fit_file import fit_file, report_path
from .files import atomic_write, atomic_write_bytes
from .journal import JobState
from .library import Library
from .musicapi import ConfigurationError
from .placement import first_free_lane, lane_is_free
from .provenance import Provenance
from .plan import DEFAULT_MODEL, MODELS
from .prompt import DEFAULT_STYLE, TITLE_LIMIT, clean_text
from .refit import reuse_from
from .session import (BackgroundJob, BackgroundTask, Choices, Destination, Snapshot, connect, describe, plan_for,
                      loudness_target, prompt_for, refit_plan_for)
from .timeline import MAX_CUT_SECONDS, SAMPLE_RATES, FrameRate, Marker, Timeline, frames_to_timecode

__all__ = [
    "bars", "config", "host", "Audio", "AudioError", "load", "write_wav", "speech_keyframes", "BAR", "PHRASE", "InputError", "PlacementError",
    "PreflightError", "RefitError", "ScoreFitError", "FitError", "FitReport", "fit_file",
    "report_path", "JobState", "Library", "ConfigurationError", "atomic_write", "atomic_write_bytes", "first_free_lane", "Provenance",
    "lane_is_free", "DEFAULT_MODEL", "MODELS", "DEFAULT_STYLE", "TITLE_LIMIT", "clean_text", "reuse_from",
    "BackgroundJob", "BackgroundTask", "Choices", "Destination", "Snapshot", "connect", "describe", "plan_for",
    "loudness_target", "prompt_for", "refit_plan_for", "MAX_CUT_SECONDS", "SAMPLE_RATES", "FrameRate", "Marker", "Timeline", "frames_to_timecode",
]
