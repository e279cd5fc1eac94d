"""Where a new soundtrack may go: the lowest lane that is free over the whole range.

Lanes are Blender's channels or Resolve's audio tracks; every range is half-open,
[start, end), in the host's absolute frames. Nothing here moves an existing clip.
"""
from __future__ import annotations

from typing import Iterable, Mapping

Span = tuple[int, int]


def overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def lane_is_free(spans: Iterable[Span], wanted: Span) -> bool:
    return not any(overlaps(span, wanted) for span in spans)


def first_free_lane(occupied: Mapping[int, Iterable[Span]], wanted: Span, *, first: int = 1,
                    last: int | None = None, unusable: Iterable[int] = ()) -> int | None:
    """The lowest lane in [first, last] not in ``unusable`` with nothing over ``wanted``.

    Lanes missing from ``occupied`` are empty. ``None`` when every lane up to ``last`` is taken.
    """
    if wanted[1] <= wanted[0]:
        raise ValueError(f"empty range {wanted}")
    unusable = set(unusable)
    lane = first
    while last is None or lane <= last:
        if lane not in unusable and lane_is_free(occupied.get(lane, ()), wanted):
            return lane
        lane += 1
    return None
