import pytest

from scorefit.core.plan import CREDITS, Settings, choose_continue_at, make_plan, model_info
from scorefit.core.prompt import derive_prompt
from scorefit.core.timeline import FrameRate, Marker, Timeline


def plan_for(seconds, model="sonic-v5", markers=(), **settings):
    tl = Timeline(FrameRate(24), int(seconds * 24), markers=tuple(markers))
    return make_plan(tl, derive_prompt(tl), Settings(model=model, **settings))


@pytest.mark.parametrize("seconds,extends", [(20, 0), (180, 0), (720, 3), (1800, 9)])
def test_plans_reach_the_target(seconds, extends):
    plan = plan_for(seconds)
    assert plan.extends == extends
    info = model_info("sonic-v5")
    reach = info.typical_seconds + extends * (info.typical_seconds - 10)
    assert reach >= seconds + 6
    kinds = [s.kind for s in plan.steps]
    assert kinds[0] == "create" and kinds.count("wav") == 2
    assert kinds.count("concat") == (2 if extends else 0)
    assert plan.credits == sum(CREDITS[k] for k in kinds)
    assert plan.max_credits >= plan.credits
    assert f"{plan.credits} credits" in plan.describe()


def test_plan_without_alternate_or_wav_is_cheaper():
    full, lean = plan_for(720), plan_for(720, alternate=False, output="mp3")
    assert full.credits - lean.credits == CREDITS["concat"] + 2 * CREDITS["wav"]


def test_short_models_need_more_extends_and_duration_models_ask_for_the_length():
    assert plan_for(600, "sonic-v4").extends > plan_for(600, "sonic-v5").extends
    plan = plan_for(300, "sonic-v6")
    assert plan.create_body()["duration"] == 306
    assert "duration" not in plan_for(300, "sonic-v5").create_body()


def test_unknown_newer_models_pass_through_and_bad_names_are_refused():
    assert plan_for(60, "sonic-v7").create_body()["mv"] == "sonic-v7"
    with pytest.raises(ValueError, match="model"):
        Settings(model="no spaces please")
    with pytest.raises(ValueError, match="output"):
        Settings(output="flac")


def test_request_key_changes_with_seed_and_request_only():
    assert plan_for(60).request_key("https://api.musicapi.ai") == plan_for(60).request_key("https://api.musicapi.ai")
    assert plan_for(60).request_key("https://api.musicapi.ai") != plan_for(60, seed=1).request_key("https://api.musicapi.ai")
    assert plan_for(60).request_key("https://api.musicapi.ai") != plan_for(61).request_key("https://api.musicapi.ai")


def test_create_body_drops_the_ending_when_extends_follow():
    assert "[End]" not in plan_for(900).create_body()["prompt"]
    assert "[End]" in plan_for(60).create_body()["prompt"]


def test_continue_at_a_mood_change_in_the_clips_last_minute():
    plan = plan_for(600, markers=[Marker(24 * 150, "epic")])
    assert choose_continue_at(plan, 0.0, 190.0) == (150, 150.0)
    # No change near the end: continue ahead of the clip's outro, in whole seconds.
    assert choose_continue_at(plan, 150.0, 100.4) == (90, 240.0)
    plain = plan_for(600)
    assert choose_continue_at(plain, 0.0, 30.0) == (20, 20.0)


def test_very_short_cuts_carry_a_warning_and_normal_ones_do_not():
    from scorefit.core.plan import Settings, make_plan
    from scorefit.core.prompt import derive_prompt
    from scorefit.core.timeline import FrameRate, Timeline
    def plan(frames):
        tl = Timeline(FrameRate.parse("24"), frames)
        return make_plan(tl, derive_prompt(tl), Settings())
    assert "only 1 frame (0.04 s)" in plan(1).short_warning and "credits" in plan(1).short_warning
    assert plan(24 * 60).short_warning == ""


def test_the_same_cut_and_choices_plan_once():
    """A panel redraws many times a second, then a click plans again: one plan is made."""
    from scorefit.core.session import Choices, _plan, plan_for
    timeline = Timeline(FrameRate(24), 2880, markers=(Marker(1200, "tense build"),))
    before = _plan.cache_info()
    first = plan_for(timeline, Choices())
    for _ in range(5):
        assert plan_for(Timeline(FrameRate(24), 2880, markers=(Marker(1200, "tense build"),)), Choices()) is first
    after = _plan.cache_info()
    assert after.misses - before.misses == 1 and after.hits - before.hits == 5
    assert plan_for(timeline, Choices(style="jazz")) is not first
    longer = Timeline(FrameRate(24), 2880, markers=(Marker(1200, "tense build"), Marker(5000, "gone")))
    assert plan_for(longer, Choices()).dropped != first.dropped      # a dropped marker is named


def test_markers_left_out_are_named_at_the_editors_frames_and_on_the_right_side():
    from scorefit.core.session import Choices, plan_for
    timeline = Timeline(FrameRate(24), 240, start_frame=1001,
                        markers=(Marker(-10, "early idea"), Marker(300, "late chase")))
    notes = plan_for(timeline, Choices()).dropped
    assert notes == ["The marker 'early idea' at frame 991 is before the start of the cut and was left out of the prompt.",
                     "The marker 'late chase' at frame 1301 is past the end of the cut and was left out of the prompt."]
