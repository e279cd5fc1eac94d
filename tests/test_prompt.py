from scorefit.core.prompt import PROMPT_LIMIT, TAGS_LIMIT, TITLE_LIMIT, derive_prompt
from scorefit.core.timeline import FrameRate, Marker, Timeline


def timeline(name="", markers=(), seconds=120, fps=24):
    return Timeline(FrameRate(fps), seconds * fps, name=name, markers=tuple(markers))


def test_no_markers_gives_one_section_and_an_ending():
    spec = derive_prompt(timeline("Beach day"))
    assert len(spec.sections) == 1
    assert "[Outro]" in spec.prompt and "[End]" in spec.prompt
    assert spec.title == "Beach day" and "instrumental" in spec.tags and spec.instrumental


def test_markers_with_moods_make_sections_at_their_times():
    spec = derive_prompt(timeline("Trailer", [Marker(24 * 30, "Tense build"), Marker(24 * 60, "scene 4"),
                                              Marker(24 * 80, "Epic chase", note="drums")]))
    assert [s.moods for s in spec.sections] == [("cinematic",), ("tense", "build"), ("epic", "chase")]
    assert [float(s.start) for s in spec.sections] == [0, 30, 80]
    assert [s.energy for s in spec.sections] == [1, 1, 2]
    assert "from 1:20" in spec.prompt and "[Chorus]" in spec.prompt
    assert "tense" in spec.tags and "epic" in spec.tags


def test_colours_carry_meaning_and_can_be_remapped():
    tl = timeline(markers=[Marker(240, "", color="Blue"), Marker(960, "", color="Red")])
    assert [s.moods for s in derive_prompt(tl).sections][1:] == [("calm",), ("intense",)]
    remapped = derive_prompt(tl, color_moods={"Red": "triumphant"})
    assert remapped.sections[-1].moods == ("triumphant",)


def test_many_markers_and_long_unicode_names_respect_service_limits():
    markers = [Marker(i * 24, f"Szene {i} – épique 🎬 " + "très long nom " * 20 + ("calm" if i % 2 else "epic"))
               for i in range(1, 300)]
    spec = derive_prompt(timeline("Ünïcödé 映画のタイトル " * 30, markers, seconds=400))
    assert len(spec.prompt) <= PROMPT_LIMIT and len(spec.tags) <= TAGS_LIMIT and len(spec.title) <= TITLE_LIMIT
    assert "映画" in spec.title and spec.prompt.isprintable() is False  # newlines are kept
    assert "\x00" not in spec.prompt


def test_control_characters_are_stripped_and_edits_are_limited():
    spec = derive_prompt(timeline("bad\x00name\x1b"))
    assert spec.title == "badname"
    edited = spec.edited(title="t" * 500, prompt="my own words")
    assert len(edited.title) <= TITLE_LIMIT and edited.prompt == "my own words"


def test_continuation_prompt_follows_the_section_and_asks_for_an_ending():
    spec = derive_prompt(timeline(markers=[Marker(24 * 90, "calm outro")]))
    text = spec.continuation(95, ending=True)
    assert "calm" in text and "[End]" in text and "same tempo" in text


def test_titles_and_tags_are_one_line_and_cut_between_characters():
    from scorefit.core.prompt import TITLE_LIMIT, derive_prompt
    from scorefit.core.timeline import FrameRate, Timeline
    spec = derive_prompt(Timeline(FrameRate.parse("24"), 240, name="Scene\n2"))
    title = "夜明けの街を走る少女と猫の長い物語、第一章：はじまりの朝\n続き" * 3
    edited = spec.edited(title=title, tags="calm,\nwarm")
    assert "\n" not in edited.title and "\n" not in edited.tags and "\n" not in spec.title
    assert len(edited.title) <= TITLE_LIMIT and edited.title == title.replace("\n", " ")[:len(edited.title)]
    edited.title.encode("utf-8")        # whole characters only


def test_hundreds_of_markers_are_summarised_and_the_prompt_keeps_its_ending():
    from scorefit.core.prompt import PROMPT_LIMIT, derive_prompt
    from scorefit.core.timeline import FrameRate, Marker, Timeline
    moods = ["calm", "tense build", "epic chase", "sad", "triumphant finale"]
    markers = tuple(Marker(24 * 2 * i + 12, f"{moods[i % 5]}\nshot {i}") for i in range(500))
    timeline = Timeline(FrameRate.parse("24"), 24 * 60 * 17, markers=markers + (Marker(24 * 60 * 18, "epic"),))
    spec = derive_prompt(timeline)
    assert len(spec.prompt) <= PROMPT_LIMIT
    assert spec.prompt.endswith("[Outro] resolve to a clear final chord\n[End]")
    lines = spec.prompt.splitlines()
    assert all(line.startswith(("[", "Style:", "Instrumental")) for line in lines)   # no split lines
    # The sections still cover the whole cut, the last one reaching its end.
    assert spec.sections[0].start == 0 and spec.sections[-1].end == timeline.duration_seconds
    assert all(a.end == b.start for a, b in zip(spec.sections, spec.sections[1:]))
    assert float(spec.sections[-1].start) > 60 * 10
