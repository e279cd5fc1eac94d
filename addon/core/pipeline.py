"""Run a plan: generate, extend until the music covers the cut, join, download, fit.

Runs in a worker thread in the hosts; talks to them only through ``on_progress``
callbacks and a :class:`CancelToken`. Every paid call is journalled before it is sent
and its task id as soon as it is known, so a later run resumes instead of paying again.
"""
from __future__ import annotations

import hashlib
import math
from concurrent.futures import Future, ThreadPoolExecutor
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import audio
from .fit import FitError, ducked, fit, levelled
from .errors import BudgetError
from .journal import Job, StepState
from .library import Library
from .musicapi import (SYSTEM_CLOCK, CancelToken, Clock, MusicAPIClient, MusicAPIError,
                       DownloadError, OutcomeUnknownError, PollSchedule, TaskFailedError, TaskNotFoundError,
                       TaskStatus)
from .provenance import GENERATED, REFIT, Provenance, licence_for
from .plan import CREDITS, OUTRO_SKIP, Plan, choose_continue_at, is_last_extend, model_info

@dataclass(frozen=True)
class Progress:
    stage: str               # "Generating", "Extending 2/3", "Joining", "Fitting", ...
    step: int                # 1-based index of the current call
    steps: int               # calls expected in all (may grow if the model gives short clips)
    elapsed: float
    remaining: float | None  # expected seconds still to go
    message: str = ""
    overdue: bool = False    # the current task has run past its forecast

    @property
    def fraction(self) -> float:
        if self.remaining is None:
            return (self.step - 1) / max(1, self.steps)
        total = self.elapsed + self.remaining
        return min(0.99, self.elapsed / total) if total > 0 else 0.0


MIN_GAIN = 10.0      # seconds: the least an extend is assumed to add (a forecast never divides by ~0)


@dataclass
class Result:
    primary: Path                  # fitted WAV, exactly the timeline's length
    alternate: Path | None
    sidecar: Path                  # provenance JSON
    provenance: Provenance
    from_library: bool = False
    notes: list = field(default_factory=list)


@dataclass(frozen=True)
class _Part:
    clip_id: str
    duration: float
    audio_url: str


def lost_hint(lost: list[dict]) -> str:
    """What the editor may do about lost answers, and what sending them again can cost."""
    kinds = {s["kind"] for s in lost}
    cost = sum(CREDITS[s["kind"]] for s in lost)
    again = ("Start Afresh sends only this request again; every step already paid for is "
             "kept and reused.")
    if kinds <= {"concat", "wav"}:
        # Cheap, and a repeat harms nothing: the service answers it from the same clip.
        return (f"It may have been charged; sending it again costs at most {cost} credits "
                f"more, never a new generation. {again}")
    return (f"It may have started and been charged ({cost} credits). ScoreFit did not send it "
            f"again: check your MusicAPI account's history first. {again}")


class Pipeline:
    def __init__(self, client: MusicAPIClient, library: Library, *,
                 schedule: PollSchedule = PollSchedule(), decoder: audio.Decoder | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 cancel: CancelToken | None = None, clock: Clock = SYSTEM_CLOCK):
        self.client = client
        self.library = library
        self.schedule = schedule
        self.decoder = decoder
        self.on_progress = on_progress or (lambda p: None)
        self.cancel = cancel or CancelToken()
        self.clock = clock
        self.polls: dict[str, int] = {}     # task id -> polls, for benchmarks and tests
        self._pace = 1.0                    # observed / expected service time so far

    # --- the whole job ------------------------------------------------------------
    def run(self, plan: Plan, key: str | None = None) -> Result:
        """Run ``plan`` under the library key ``key`` (by default the plan's key for this
        client's service)."""
        key = key or plan.request_key(self.client.base_url)
        if plan.settings.output == "mp3" and not audio.mp3_decoder_available(self.decoder):
            raise audio.DecoderMissing()
        self._plan = plan
        self._started = self.clock.now()
        self._step = 0
        self._steps = plan.calls
        self._remaining_service = plan.service_seconds
        self._notes = list(plan.dropped)
        job = self.job(plan, key)
        # A run spends within the plan's maximum; after a stop short of it, a run again may
        # spend what that stop quoted for continuing (the editor saw it, and ran again).
        self._limit = max(plan.max_credits, job.paid + job.quote.get("credits", 0))
        lost = job.lost
        if lost:
            raise OutcomeUnknownError(
                f"An earlier run sent the {lost[0]['name']} request, but its answer was lost.",
                hint=lost_hint(lost))
        from_library = job.complete
        self._early: dict[str, Future] = {}
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ScoreFit take") as self._pool:
            try:
                if not from_library:
                    self._generate(job)
                return self._fit(job, from_library)
            finally:
                for future in self._early.values():
                    future.cancel()

    def job(self, plan: Plan, key: str) -> Job:
        return self.library.job(key, {
            "prompt": plan.spec.prompt, "tags": plan.spec.tags, "title": plan.spec.title,
            "model": plan.settings.model, "service": self.client.base_url,
            "target_seconds": plan.target_seconds, "timeline": plan.timeline.to_dict(),
            "reuses": plan.reuse.key if plan.reuse else None})

    def _generate(self, job: Job):
        plan = self._plan
        if plan.reuse is not None:
            # A Refit continues the song already paid for: no new generation.
            primary = _Part(plan.reuse.clip_id, plan.reuse.seconds, "")
            alternate = None
        else:
            primary, alternate = self._create(job)
        offset, current, covered = 0.0, primary, primary.duration
        if plan.reuse is not None and covered >= plan.target_seconds:
            job.finish({"primary": plan.reuse.source}, {"primary": primary.clip_id, "alternate": None})
            return
        planned = plan.extends
        extends, gains = 0, []
        while covered < plan.target_seconds:
            extends += 1
            if job.step(f"extend-{extends}") is None:       # a new paid extend, not a replay
                self._afford(job, plan.target_seconds - covered, gains)
            self._steps = max(self._steps, plan.calls + extends - planned)
            continue_at, song_time = choose_continue_at(plan, offset, current.duration)
            body = plan.extend_body(current.clip_id, continue_at, song_time,
                                    is_last_extend(plan, song_time), plan.target_seconds - song_time)
            new = self._task(job, f"extend-{extends}", "extend", body,
                             f"Extending {extends}/{max(planned, extends)}", self._wanted)
            offset, current = song_time, new[0]
            alternate = new[1] if len(new) > 1 else None
            gains.append(offset + current.duration - covered)
            covered = offset + current.duration
        if extends:
            current = self._task(job, "concat", "concat",
                                 {"task_type": "concat_music", "continue_clip_id": current.clip_id},
                                 "Joining")[0]
            if alternate is not None and plan.settings.alternate:
                alternate = self._task(job, "concat-alt", "concat",
                                       {"task_type": "concat_music", "continue_clip_id": alternate.clip_id},
                                       "Joining")[0]
        if not plan.settings.alternate:
            alternate = None
        elif alternate is None and plan.reuse is None:
            self._notes.append("The alternate take was left out: its clip failed on the service "
                               "(failed clips are not charged).")
        takes = {"primary": current, **({"alternate": alternate} if alternate is not None else {})}
        # Both takes are fetched at once (unless one already was): the wait is the longer.
        fetching = {role: self._early.get(part.clip_id) or self._pool.submit(self._fetch, job, part)
                    for role, part in takes.items()}
        sources = {role: future.result() for role, future in fetching.items()}
        job.finish(sources, {"primary": current.clip_id, "alternate": alternate.clip_id if alternate else None})

    def _afford(self, job: Job, short: float, gains: list[float]):
        """Before a new paid extend: go on only if the extends still needed (forecast from
        what this job's extends actually gained, the least of them, else the model's usual
        clip) and the joins and WAVs that finish the job fit within what this run may spend.
        Otherwise stop having spent nothing more, and say what continuing costs."""
        plan = self._plan
        gain = max(MIN_GAIN, min(gains) if gains else model_info(plan.settings.model).typical_seconds - OUTRO_SKIP)
        needed = math.ceil(short / gain)
        takes = 2 if plan.settings.alternate else 1
        finish = CREDITS["concat"] * takes + (CREDITS["wav"] * takes if plan.settings.output == "wav" else 0)
        cost = needed * CREDITS["extend"] + finish
        if job.paid + cost <= self._limit:
            return
        job.quoted(needed, cost)
        raise BudgetError(
            f"The model's clips came back shorter than the plan assumed: the music is still "
            f"{short:.0f} s short, and reaching the cut needs about {needed} more extend"
            f"{'s' if needed > 1 else ''} ({cost} credits with the join and WAV), past the at most "
            f"{self._limit} credits this run could spend ({job.paid} paid so far).",
            hint=f"Nothing more was sent and every paid step is kept. Run again to continue: it "
                 f"spends up to {cost} credits more. Or choose a model with longer clips.")

    @property
    def _wanted(self) -> int:
        """Clips a create or extend must deliver before the job goes on: both takes when the
        alternate is kept, otherwise the first one done (no wait for the second)."""
        return 2 if self._plan.settings.alternate else 1

    def _create(self, job: Job) -> tuple["_Part", "_Part | None"]:
        def early(part: _Part):
            # The first take is done and already long enough: both takes will be used as
            # they are, so its audio is fetched while the other is still generating.
            if self._plan.settings.alternate and part.duration >= self._plan.target_seconds:
                self._early[part.clip_id] = self._pool.submit(self._fetch, job, part)
        create = self._task(job, "create", "create", self._plan.create_body(), "Generating",
                            self._wanted, early)
        parts = sorted(create, key=lambda p: -p.duration)   # the longer take needs fewer extends
        return parts[0], (parts[1] if len(parts) > 1 else None)

    # --- one paid task, journalled ------------------------------------------------
    def _task(self, job: Job, name: str, kind: str, body: dict, stage: str,
              wanted: int = 1, early: Callable[[_Part], None] | None = None) -> list[_Part]:
        self.cancel.check()
        self._step += 1
        entry = job.step(name)
        expected = self._expected(kind, body)
        if entry and Job.step_state(entry) is StepState.DONE:
            self._remaining_service -= expected
            return [_Part(**c) for c in entry["clips"]]
        if entry is None:
            # A continuation of a given clip, a join or a WAV is the same whoever asks: bought
            # for another job, it is never bought twice. A create is a new take by design.
            earlier = self.library.answered(kind, body, job.key) if kind != "create" else None
            if earlier is not None:
                entry = job.reuse(name, kind, body, *earlier)
                self._remaining_service -= expected
                return [_Part(**c) for c in entry["clips"]]
            self._report(stage, expected, 0.0, "Sending the request")
            entry, task_id = self._paid(job, name, kind, body, lambda: self.client.submit(body))
            job.accepted(entry, task_id)
        try:
            clips = self._poll(entry["task_id"], expected, stage, entry, wanted, early)
        except TaskFailedError:
            job.refused(entry)             # the service refunds a failed task: a new try may be sent
            raise
        except TaskNotFoundError:
            # Forgotten by the service: whether it ran (and charged) is unknown, so it is a
            # lost answer, with the one way out every lost answer has: Start Afresh.
            job.answer_lost(entry)
            raise OutcomeUnknownError(f"MusicAPI no longer knows the {name} task ({entry['task_id']}).",
                                      hint=lost_hint([entry])) from None
        job.answered(entry, clips=[vars(c) for c in clips])
        self._remaining_service -= expected
        return clips

    @staticmethod
    def _paid(job: Job, name: str, kind: str, body: dict, send: Callable[[], str]) -> tuple[dict, str]:
        """Journal a paid request around ``send``: the intent first, then what became of it."""
        entry = job.begin(name, kind, body)
        try:
            return entry, send()
        except OutcomeUnknownError as error:
            job.answer_lost(entry)         # may be charged: never sent again without the editor
            error.hint = lost_hint([entry])
            raise
        except MusicAPIError:
            job.refused(entry)             # refused before any work: nothing was charged
            raise

    def _expected(self, kind: str, body: dict) -> float:
        if kind in ("concat", "wav"):
            return 4.0
        info = model_info(self._plan.settings.model)
        return info.service_seconds(float(body.get("duration") or info.typical_seconds))

    def _poll(self, task_id: str, expected: float, stage: str, entry: dict, wanted: int,
              early: Callable[[_Part], None] | None = None) -> list[_Part]:
        """Wait on the task through the client, reporting progress and handing each clip
        done before the rest to ``early``; learn the service's pace from how long it took."""
        scale = max(self.schedule.time_scale, 1e-9)
        # Resuming: the service has been working since the task was accepted (wall time:
        # the journal outlives this process).
        waited = max(0.0, time.time() - entry["accepted"]) if entry.get("accepted") else 0.0
        began = self.clock.now() - waited
        estimate = expected * self._pace

        def on_poll(status: TaskStatus | None, elapsed: float):
            self._report(stage, estimate, elapsed * scale)
            if status is None:
                return
            self.polls[task_id] = self.polls.get(task_id, 0) + 1
            for clip in status.clips:
                if early and clip.done and clip.duration and clip.clip_id not in self._early:
                    early(_Part(clip.clip_id, float(clip.duration), clip.audio_url))

        status = self.client.wait(task_id, estimate, schedule=self.schedule, wanted=wanted,
                                  cancel=self.cancel, clock=self.clock, waited=waited, on_poll=on_poll)
        self.polls[task_id] = self.polls.get(task_id, 0) + 1
        taken = (self.clock.now() - began) / scale
        self._pace = 0.5 * self._pace + 0.5 * max(0.2, min(5.0, taken / expected))
        return [_Part(c.clip_id, float(c.duration), c.audio_url) for c in status.finished(wanted)]

    # --- audio ----------------------------------------------------------------------
    def _fetch(self, job: Job, part: _Part) -> str:
        """The take's audio in the library (as its journal names it). A link the service no
        longer serves (HTTP 404, it expired) is asked for afresh once: an MP3's by polling
        its task again (free), a WAV's by dropping its answer from the journal, so a run
        again asks for the WAV once more (its 2 credits, never the music)."""
        try:
            return self._download(job, self._audio_url(job, part), part)
        except DownloadError as error:
            if error.status != 404:
                raise
        if self._plan.settings.output == "wav":
            job.expired(job.step(f"wav-{part.clip_id}"))
            raise DownloadError("The service's link to the lossless WAV expired before it was downloaded.",
                                status=404, hint="Run again: it asks for the WAV once more (2 credits); the "
                                                 "music itself is kept and never paid for again.")
        owner = next((s for s in job.steps for c in s.get("clips") or () if c.get("clip_id") == part.clip_id), None)
        status = self.client.get_task(owner["task_id"]) if owner and owner.get("task_id") else None
        url = next((c.audio_url for c in (status.clips if status else ()) if c.clip_id == part.clip_id), "")
        try:
            if url:
                return self._download(job, url, part)
        except DownloadError as error:
            if error.status != 404:
                raise
        raise DownloadError(f"MusicAPI no longer serves the audio of clip {part.clip_id}.", status=404,
                            hint="It cannot be fetched again, so running again would not help: generate "
                                 "anew (another take number) to get music for this cut.")

    def _audio_url(self, job: Job, part: _Part) -> str:
        """Where the take's audio is: the MP3 the task gave, or a lossless WAV (a paid,
        journalled request)."""
        if self._plan.settings.output != "wav":
            return part.audio_url
        return self._wav_url(job, part.clip_id)

    def _wav_url(self, job: Job, clip_id: str) -> str:
        """The lossless WAV of a clip: a paid, journalled request (reused if bought already)."""
        name = f"wav-{clip_id}"
        entry = job.step(name)
        if entry is None and (earlier := self.library.answered("wav", {"clip_id": clip_id}, job.key)):
            entry = job.reuse(name, "wav", {"clip_id": clip_id}, *earlier)
        if entry is None:
            self._step += 1
            self._report("Converting", 4.0, 0.0)
            entry, url = self._paid(job, name, "wav", {"clip_id": clip_id}, lambda: self.client.wav_url(clip_id))
            job.answered(entry, url=url)
        return entry["url"]

    def _source(self, job: Job, role: str) -> audio.Audio:
        """A take's unfitted audio. An MP3 this machine cannot decode is never a lost
        payment: the same clip's lossless WAV is fetched instead (2 credits, within the
        plan's maximum), never a new song; the outcome says so."""
        try:
            return audio.load(job.source(role), self.decoder)
        except audio.AudioError as error:
            clip_id = job.clips.get(role)
            if job.source(role).suffix.lower() == ".wav" or not clip_id:
                raise
            reason = str(error)
        url = self._wav_url(job, clip_id)
        ref = self._download(job, url, _Part(clip_id, 0.0, url), "wav")
        job.finish({**job.data["sources"], role: ref}, job.clips)
        self._notes.append(f"The {role} take's MP3 could not be decoded here ({reason.rstrip('.')}); its "
                           "lossless WAV was fetched instead (2 credits), never a new song.")
        return audio.load(job.source(role))

    def _download(self, job: Job, url: str, part: _Part, kind: str | None = None) -> str:
        """The clip's audio in the job's folder (fetched once), as its journal names it."""
        filename = f"{part.clip_id}.{kind or self._plan.settings.output}"
        target = job.folder / filename
        if not target.exists():
            self._report("Downloading", 0.0, 0.0)
            self.client.download(url, target, should_stop=lambda: self.cancel.cancelled)
        return Library.track_ref(job.key, filename)

    def _fit(self, job: Job, from_library: bool) -> Result:
        plan = self._plan
        timeline = plan.timeline
        self._report("Fitting", 0.0, 0.0)
        # Named from the request and the length it was fitted to: copies of different music
        # (two scenes of the same length, say) never share a name beside the project.
        tag = hashlib.sha256(repr((job.key, timeline.duration_samples, timeline.sample_rate)
                                  + ((plan.loudness,) if plan.loudness is not None else ())
                                  + tuple(str(p) for p in plan.duck_under))
                             .encode()).hexdigest()[:12]
        outputs, reports, notes = {}, {}, self._notes

        def fit_take(role: str):
            self.cancel.check()
            source = self._source(job, role)
            try:
                fitted, report = fit(source, timeline.duration_samples, timeline.sample_rate)
            except FitError as error:
                return error
            self.cancel.check()          # the fit takes seconds on a long cut: a cancel meanwhile wins
            fitted, report = ducked(*levelled(fitted, report, plan.loudness), plan.duck_under)
            return audio.write_wav(fitted, job.folder / f"fitted-{tag}-{role}.wav"), report

        roles = job.roles
        for role, done in zip(roles, self._pool.map(fit_take, roles)):     # the two overlap
            if isinstance(done, FitError):
                if role == "primary":
                    raise done
                notes.append(f"The alternate take was left out: {done}.")
                continue
            outputs[role], report = done
            reports[role] = report.to_dict()
            if role == "primary":
                notes.insert(0, f"Fit: {report.quality}.")
        origin, licence = licence_for(self.client.base_url)
        reuses = str(job.request.get("reuses") or "")
        provenance = Provenance(
            kind=REFIT if reuses else GENERATED, fit=reports, origin=origin, licence=licence,
            timeline=timeline.to_dict(), service=self.client.base_url, request_key=job.key,
            reuses=reuses, request=job.request, clips=job.clips, sources=dict(job.data["sources"]),
            tasks=tuple({k: s.get(k) for k in ("name", "kind", "task_id", "clips", "submitted", "finished")}
                        for s in job.steps))
        sidecar = provenance.save(outputs["primary"].with_suffix(".json"))
        self._report("Done", 0.0, 0.0)
        return Result(outputs["primary"], outputs.get("alternate"), sidecar, provenance,
                      from_library, notes)

    def _report(self, stage: str, expected: float, elapsed: float, message: str = ""):
        later = max(0.0, self._remaining_service - expected) * self._pace * self.schedule.time_scale
        forecast = expected * self._pace * self.schedule.time_scale
        now = max(0.0, forecast - elapsed)
        self.on_progress(Progress(stage, max(1, self._step), self._steps,
                                  self.clock.now() - self._started, now + later, message,
                                  overdue=forecast > 0 and elapsed > forecast))
