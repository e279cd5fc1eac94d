"""Refit after a recut from the command line, against the emulator's ledger: free when the
song is long enough, only the missing part (one extend and a join) when it is not."""
import json
import wave

import pytest

from scorefit.cli import main as cli
from scorefit.core import config
from scorefit.core.plan import CREDITS
from scorefit.emulator import DEFAULT_KEY


@pytest.fixture
def service(live_emulator, monkeypatch):
    emulator = live_emulator
    monkeypatch.setenv("MUSICAPI_KEY", DEFAULT_KEY)
    config.save_settings(base_url=emulator.url, time_scale=emulator.speed, alternate=False)
    return emulator


def paid(emulator) -> list[str]:
    return [c["what"] for c in emulator.state.charges]


def samples(path) -> int:
    with wave.open(str(path)) as w:
        return w.getnframes()


def test_refit_is_free_when_the_song_covers_the_new_cut(service, tmp_path, capsys):
    args = ["--fps", "24", "--model", "sonic-v4", "--yes", "--sample-rate", "22050"]
    assert cli(["fit", "--duration", "60", *args, "-o", str(tmp_path / "a.wav")]) == 0
    assert paid(service) == ["create_music", "wav"]
    requests = len(service.state.log)
    capsys.readouterr()
    assert cli(["refit", str(tmp_path / "a.json"), "--duration", "45", *args, "-o", str(tmp_path / "b.wav")]) == 0
    out = capsys.readouterr().out
    assert "free, no request is sent" in out
    assert len(service.state.log) == requests and paid(service) == ["create_music", "wav"]
    assert samples(tmp_path / "b.wav") == 45 * 22050
    provenance = json.loads((tmp_path / "b.json").read_text())
    assert provenance["fit"]["primary"]["method"] and provenance["request"]["reuses"]
    assert provenance["schema"] == 2 and provenance["kind"] == "refit" and provenance["reuses"]


def test_refit_longer_than_the_song_pays_only_the_missing_part(service, tmp_path, capsys):
    args = ["--fps", "24", "--model", "sonic-v4", "--yes", "--sample-rate", "22050"]
    assert cli(["fit", "--duration", "40", *args, "-o", str(tmp_path / "a.wav")]) == 0
    capsys.readouterr()
    assert cli(["refit", str(tmp_path / "a.json"), "--duration", "200", *args, "-o", str(tmp_path / "c.wav")]) == 0
    assert "Refit, " in capsys.readouterr().out
    spent = paid(service)
    assert spent.count("create_music") == 1 and spent[:2] == ["create_music", "wav"]
    assert spent[2:] == ["extend_music"] * (len(spent) - 4) + ["concat_music", "wav"]
    assert samples(tmp_path / "c.wav") == 200 * 22050
    # The refitted soundtrack can itself be refitted, back to the first length, for free.
    before = len(service.state.charges)
    assert cli(["refit", str(tmp_path / "c.json"), "--duration", "40", *args, "-o", str(tmp_path / "d.wav")]) == 0
    assert len(service.state.charges) == before and samples(tmp_path / "d.wav") == 40 * 22050


def test_refit_errors_are_sentences(service, tmp_path, capsys):
    assert cli(["refit", str(tmp_path / "missing.json"), "--duration", "30"]) == 2
    assert "no provenance file" in capsys.readouterr().err
    (tmp_path / "other.json").write_text(json.dumps({"request_key": "nope"}))
    assert cli(["refit", str(tmp_path / "other.json"), "--duration", "30"]) == 2
    assert "not in the library" in capsys.readouterr().err
    (tmp_path / "list.json").write_text("[1, 2]")
    assert cli(["refit", str(tmp_path / "list.json"), "--duration", "30"]) == 2
    assert "is not a readable provenance file (a provenance record is a JSON object)" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text("{")
    assert cli(["refit", str(tmp_path / "broken.json"), "--duration", "30"]) == 2
    assert "is not a readable provenance file" in capsys.readouterr().err


def test_a_paid_refit_is_not_tried_on_a_fresh_built_in_emulator(tmp_path, capsys):
    args = ["--fps", "24", "--model", "sonic-v4", "--emulator", "--no-alternate", "--sample-rate", "22050"]
    assert cli(["fit", "--duration", "20", *args, "-o", str(tmp_path / "a.wav")]) == 0
    assert cli(["refit", str(tmp_path / "a.json"), "--duration", "400", *args, "-o", str(tmp_path / "b.wav")]) == 1
    assert "keeps no songs between runs" in capsys.readouterr().err


def test_journals_of_scorefit_0_1_still_find_their_songs(tmp_path):
    """0.1 named a job's own files bare and another job's song "../key/file"; both read."""
    from scorefit.core.library import Library
    library = Library(tmp_path)
    own = library.track("clip.wav", "job1")
    assert own == tmp_path / "tracks" / "job1" / "clip.wav"
    assert library.track("../job0/song.wav", "job1") == tmp_path / "tracks" / "job0" / "song.wav"
    assert library.track(Library.track_ref("job0", "song.wav"), "job1") == tmp_path / "tracks" / "job0" / "song.wav"
    for outside in ("../../etc/passwd", "a/../../b", "x/y/z"):
        with pytest.raises(ValueError, match="names no file of the library"):
            library.track(outside, "job1")


def test_sidecars_of_scorefit_0_1_read_into_the_one_schema():
    from scorefit.core.provenance import EMULATOR_NOTE, LICENCE_NOTE, Provenance
    generated = Provenance.from_json({
        "scorefit_version": "0.1.0", "service": "https://api.musicapi.ai", "request_key": "k1",
        "request": {"prompt": "calm", "title": "Cut", "model": "sonic-v4"}, "licence": LICENCE_NOTE,
        "tasks": [{"name": "create", "task_id": "t1"}], "clips": {"primary": "c1"},
        "sources": {"primary": "c1.wav"}, "fit": {"primary": {"method": "bars"}}, "timeline": {"fps": "24/1"}})
    assert (generated.kind, generated.origin, generated.task_ids, generated.clip_id()) == ("generated", "musicapi", ["t1"], "c1")
    local = Provenance.from_json({"service": "http://127.0.0.1:9", "request": {"reuses": "k0"}, "fit": {},
                                  "licence": LICENCE_NOTE})
    assert (local.kind, local.reuses, local.origin, local.licence) == ("refit", "k0", "emulator", EMULATOR_NOTE)
    owned = Provenance.from_json({"source": "/music/song.wav", "source_sha256": "ab", "output": "/o.wav",
                                  "fit": {"method": "bars"}, "created": "2026-01-01T00:00:00Z"})
    assert (owned.kind, owned.origin, owned.source["path"], owned.report()["method"]) == (
        "fit-to-cut", "own", "/music/song.wav", "bars")
    assert Provenance.from_json(generated.to_json()) == generated           # schema 2 round-trips
    with pytest.raises(ValueError, match="newer than this ScoreFit"):
        Provenance.from_json({"schema": 99})


def test_a_second_refit_reuses_the_extend_the_first_one_paid_for(service, tmp_path):
    from scorefit.core.library import Library
    args = ["--fps", "24", "--model", "sonic-v4", "--yes", "--sample-rate", "22050"]
    assert cli(["fit", "--duration", "40", *args, "-o", str(tmp_path / "a.wav")]) == 0
    assert cli(["refit", str(tmp_path / "a.json"), "--duration", "200", *args, "-o", str(tmp_path / "b.wav")]) == 0
    first = paid(service)
    assert cli(["refit", str(tmp_path / "a.json"), "--duration", "250", *args, "-o", str(tmp_path / "c.wav")]) == 0
    assert samples(tmp_path / "c.wav") == 250 * 22050
    library = Library()
    b, c = (library.job(json.loads((tmp_path / f"{n}.json").read_text())["request_key"]) for n in "bc")
    bought = [s["body"] for s in b.steps if s["kind"] == "extend"]
    reused = [s for s in c.steps if s.get("reused_from") == b.key]
    sent = [s["body"] for s in c.steps if s["kind"] == "extend" and not s.get("reused_from")]
    assert reused and reused[0]["body"] == bought[0]            # the same first extend: not bought twice
    assert not [body for body in sent if body in bought]
    assert paid(service)[len(first):].count("extend_music") == len(sent)
    assert c.paid == sum(CREDITS[s["kind"]] for s in c.steps if not s.get("reused_from"))
