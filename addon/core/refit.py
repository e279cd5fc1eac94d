"""Refit after a recut: find the unfitted song behind a placed soundtrack, so it can be
fitted again to the new range (free when it is long enough, otherwise extended by just
the missing part: see :func:`core.plan.make_refit_plan`)."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import RefitError
from .library import Library
from .plan import Reuse


def reuse_from(provenance: dict, library: Library) -> Reuse:
    """The song a placed soundtrack was fitted from, from its provenance (the sidecar JSON
    or the strip's properties: only ``request_key`` is needed)."""
    key = str(provenance.get("request_key") or "")
    if not key:
        raise RefitError("This soundtrack carries no ScoreFit request key, so its song cannot be found.")
    job = library.job(key)
    sources, clips = job.data.get("sources") or {}, job.data.get("clips") or {}
    if job.state != "done" or "primary" not in sources or not clips.get("primary"):
        raise RefitError(f"The song behind this soundtrack (request {key}) is not in the library "
                         f"at {library.root}.")
    path = job.source("primary")
    if not path.is_file():
        raise RefitError(f"The song behind this soundtrack is missing from the library ({path}).")
    clip_id = clips["primary"]
    seconds = next((float(c["duration"]) for s in job.steps for c in s.get("clips") or ()
                    if c.get("clip_id") == clip_id), None)
    if seconds is None:
        reused = job.data.get("request", {}).get("reuses")
        if not reused:
            raise RefitError(f"The library's journal of request {key} does not say how long its song is.")
        return reuse_from({"request_key": reused}, library)      # a free Refit: its song is the earlier one
    source = os.path.normpath(Path(key) / sources["primary"])
    return Reuse(key, clip_id, seconds, Path(source).as_posix())
