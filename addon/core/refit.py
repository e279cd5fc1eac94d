"""Refit after a recut: find the unfitted song behind a placed soundtrack, so it can be
fitted again to the new range (free when it is long enough, otherwise extended by just
the missing part: see :func:`core.plan.make_refit_plan`)."""
from __future__ import annotations

from .errors import RefitError
from .journal import JobState
from .library import Library
from .plan import Reuse


def reuse_from(request_key: str, library: Library) -> Reuse:
    """The song a placed soundtrack was fitted from, found by the request key its
    provenance carries (in the sidecar, a Blender strip's properties, a Resolve clip's
    comments)."""
    key = str(request_key or "")
    if not key:
        raise RefitError("This soundtrack carries no ScoreFit request key, so its song cannot be found.")
    job = library.job(key)
    clip_id = job.clips.get("primary")
    if job.state is not JobState.DONE or "primary" not in job.roles or not clip_id:
        raise RefitError(f"The song behind this soundtrack (request {key}) is not in the library "
                         f"at {library.root}.")
    path = job.source("primary")
    if not path.is_file():
        raise RefitError(f"The song behind this soundtrack is missing from the library ({path}).")
    seconds = job.clip_seconds(clip_id)
    if seconds is None:
        reused = job.request.get("reuses")
        if not reused:
            raise RefitError(f"The library's journal of request {key} does not say how long its song is.")
        return reuse_from(reused, library)      # a free Refit: its song is the earlier one
    return Reuse(key, clip_id, seconds, Library.track_ref(path.parent.name, path.name))
