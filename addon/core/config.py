"""The editor's settings and API key, kept in a private per-user file.

Neither Blender nor Resolve may store the key in a project: hosts call
:func:`get_api_key` / :func:`set_api_key`, which use ``MUSICAPI_KEY`` when set and
otherwise a config file readable only by the user.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs

from .errors import InputError
from .files import atomic_write_json
from .library import APP
from .musicapi import DEFAULT_BASE_URL
from .plan import DEFAULT_MODEL
from .prompt import DEFAULT_STYLE

ENV_KEY = "MUSICAPI_KEY"
DEFAULTS = {
    "service": "musicapi",        # or "emulator": the built-in one, free, for trying ScoreFit
    "base_url": DEFAULT_BASE_URL,
    "model": DEFAULT_MODEL,
    "output": "wav",
    "style": DEFAULT_STYLE,
    "instrumental": True,
    "alternate": True,
    # The most a run may spend where nobody is asked first (Resolve's console mode). A
    # 20-minute cut plans about 143 credits; raise it here for longer ones.
    "credit_limit": 150,
    # Resolve's console mode takes no options: after a lost answer has been checked, true
    # here makes the next run send only that request again (every paid step is kept).
    "start_afresh": False,
    # For an emulator on this computer started with --speed S (tests, demos): S here makes
    # ScoreFit poll at its pace. Ignored for any other address: the real service is never faster.
    "time_scale": 1.0,
    # The music's delivery loudness: "streaming" (-14 LUFS), "web" (-16), "ebu-r128" (-23),
    # "atsc-a85" (-24), a number of LUFS, or "off" (as the service or the file made it).
    "loudness": "off",
    # Resolve: the soundtrack's "bars" or 4-bar "phrases" as markers on its clip, or "none".
    "clip_markers": "none",
}


def config_path() -> Path:
    env = os.environ.get("SCOREFIT_CONFIG")
    return Path(env) if env else Path(platformdirs.user_config_dir(APP, appauthor=False)) / "config.json"


def problem() -> str:
    """Why the config file cannot be used, in a sentence ("" when it can, or is absent).
    Reading goes on with the defaults; hosts show this so the editor knows why."""
    fault = _load()[1]
    return f"The config file {config_path()} {fault}: the defaults are used until it is fixed or removed." if fault else ""


def _load() -> tuple[dict, str]:
    """(the stored settings, why the file cannot be used: "" when it can or is absent)."""
    try:
        data = json.loads(config_path().read_text("utf-8"))
    except FileNotFoundError:
        return {}, ""
    except OSError as error:
        return {}, f"cannot be read ({error.strerror or error})"
    except (ValueError, RecursionError) as error:
        return {}, f"is not valid JSON ({error})"
    return (data, "") if isinstance(data, dict) else ({}, "holds no JSON object")


def _read(strict: bool = False) -> dict:
    """The stored settings; ``strict`` (before a write) refuses to replace a file that
    could not be read, which would lose what the editor stored in it."""
    data, fault = _load()
    if fault and strict:
        raise InputError(f"The config file {config_path()} {fault}.",
                         hint="Fix or remove it, then try again: nothing was changed.")
    return data


def _write(data: dict):
    atomic_write_json(config_path(), data, mode=0o600)


def load_settings() -> dict:
    stored = _read()
    stored.pop("api_key", None)
    return {**DEFAULTS, **stored}


def save_settings(**changes):
    data = _read(strict=True)
    data.update({k: v for k, v in changes.items() if k != "api_key"})
    _write(data)


def get_api_key() -> str:
    return os.environ.get(ENV_KEY, "").strip() or str(_read().get("api_key") or "")


def set_api_key(key: str):
    data = _read(strict=True)
    if key.strip():
        data["api_key"] = key.strip()
    else:
        data.pop("api_key", None)
    _write(data)


def key_source() -> str:
    """Where the key comes from, for the settings UI (never the key itself)."""
    if os.environ.get(ENV_KEY, "").strip():
        return f"the {ENV_KEY} environment variable"
    return str(config_path()) if _read().get("api_key") else ""
