"""The rules every host shares (core.host), on a host that keeps its timeline in memory."""
from scorefit.core import FrameRate, PlacementError, Timeline
from scorefit.core.host import Placed, Placement, deliver
from scorefit.core.pipeline import Result
from scorefit.core.provenance import Provenance
from scorefit.core.session import Snapshot


class ListHost:
    """A timeline that is a list of (start, frames, file): the contract and nothing more."""

    def __init__(self, timeline: Timeline, refuse: str = ""):
        self.timeline, self.refuse, self.clips = timeline, refuse, []

    def read_timeline(self):
        return self.timeline

    def placed(self):
        return Placed("k1", "lane 1", 0) if self.clips else None

    def place(self, result, replacing=None):
        if self.refuse:
            raise PlacementError(self.refuse)
        if replacing is not None:
            del self.clips[replacing.handle]
        self.clips.append((self.timeline.start_frame, self.timeline.duration_frames, result.primary))
        return Placement(f"Placed on lane {len(self.clips)}.")


def done(tmp_path) -> Snapshot:
    result = Result(tmp_path / "score.wav", None, tmp_path / "score.json",
                    Provenance(kind="generated", fit={}, origin="emulator", licence=""), notes=["Fit: bars."])
    return Snapshot("done", result=result)


CUT = Timeline(FrameRate(24), 2880, start_frame=1)


def test_a_result_is_placed_and_the_outcome_says_so(tmp_path):
    on = ListHost(CUT)
    outcome = deliver(on, CUT, done(tmp_path))
    assert outcome.ok and outcome.text == "Placed on lane 1. Fit: bars."
    assert on.clips == [(1, 2880, tmp_path / "score.wav")]
    again = deliver(on, CUT, done(tmp_path), on.placed())            # a Refit replaces it
    assert again.ok and len(on.clips) == 1


def test_a_recut_timeline_gets_nothing_and_the_paid_file_is_named(tmp_path):
    on = ListHost(Timeline(FrameRate(24), 3000, start_frame=1))
    outcome = deliver(on, CUT, done(tmp_path))
    assert not outcome.ok and on.clips == []
    assert "it fitted frames 1 to 2880; it now runs 1 to 3000" in outcome.text
    assert f"kept at {tmp_path / 'score.wav'}" in outcome.text and "Refit" in outcome.text


def test_a_host_that_refuses_changes_nothing_and_says_why(tmp_path):
    on = ListHost(CUT, refuse="No lane is free from frame 1 to 2880; free one and place again")
    outcome = deliver(on, CUT, done(tmp_path))
    assert not outcome.ok and on.clips == []
    assert outcome.text == (f"No lane is free from frame 1 to 2880; free one and place again. "
                            f"The soundtrack is kept at {tmp_path / 'score.wav'}.")


def test_a_job_that_did_not_finish_places_nothing():
    on = ListHost(CUT)
    outcome = deliver(on, CUT, Snapshot("failed", error="MusicAPI refused the request."))
    assert (outcome.ok, outcome.text) == (False, "MusicAPI refused the request.")
    assert on.clips == []
