"""Run a plan: generate, extend until the music covers the cut, join, download, fit.

Runs in a worker thread in the hosts; talks to them only through ``on_progress``
callbacks and a :class:`CancelToken`. Every paid call is journalled before it is sent
and its task id as soon as it is known, so a later run resumes instead of paying again.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import audio
from .fit import FitError, fit
from .library import Job, Library, atomic_write_json
from .musicapi import (Cancelled, MusicAPIClient, MusicAPIError, OutcomeUnknownError,
                       ServiceError, TaskFailedError, TaskStatus)
from .plan import Plan, choose_continue_at, is_last_extend, model_info

VERSION = "0.1.0"
LICENCE_NOTE = ("Generated with MusicAPI (musicapi.ai). Music made on a paid MusicAPI plan "
                "comes with rights for commercial use under MusicAPI's terms; keep this file "
                "with the project as the record of where the track came from.")


@dataclass(frozen=True)
class Progress:
    stage: str               # "Generating", "Extending 2/3", "Joining", "Fitting", ...
    step: int                # 1-based index of the current call
    steps: int               # calls expected in all (may grow if the model gives short clips)
    elapsed: float
    remaining: float | None  # expected seconds still to go
    message: str = ""

    @property
    def fraction(self) -> float:
        if self.remaining is None:
            return (self.step - 1) / max(1, self.steps)
        total = self.elapsed + self.remaining
        return min(0.99, self.elapsed / total) if total > 0 else 0.0


class CancelToken:
    def __init__(self):
        self._event = threading.Event()

    def cancel(self):
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self):
        if self._event.is_set():
            raise Cancelled()

    def sleep(self, seconds: float):
        if self._event.wait(max(0.0, seconds)):
            raise Cancelled()


@dataclass(frozen=True)
class PollSchedule:
    """When to ask again, from the task's expected duration.

    Nothing is asked before 60 % of the expected time (a task never finishes much
    sooner); from then on every 8 % of it (at least ``min_interval``), so the result is
    seen soon after it is ready; past the expected time the interval grows to
    ``max_interval``. ``time_scale`` shrinks everything for a faster emulator.
    """
    min_interval: float = 3.0    # also keeps well under any rate limit
    max_interval: float = 20.0
    time_scale: float = 1.0
    first_poll: float = 0.6
    step: float = 0.08

    def delay(self, elapsed: float, expected: float, polls_after_expected: int) -> float:
        lo, hi = self.min_interval * self.time_scale, self.max_interval * self.time_scale
        expected *= self.time_scale
        if elapsed < self.first_poll * expected:
            return max(lo, self.first_poll * expected - elapsed)
        steady = min(hi, max(lo, self.step * expected))
        if elapsed < expected:
            return steady
        return min(hi, steady * 1.5 ** polls_after_expected)


@dataclass
class Result:
    primary: Path                  # fitted WAV, exactly the timeline's length
    alternate: Path | None
    sidecar: Path                  # provenance JSON
    provenance: dict
    from_library: bool = False
    notes: list = field(default_factory=list)


@dataclass(frozen=True)
class _Part:
    clip_id: str
    duration: float
    audio_url: str


class Pipeline:
    def __init__(self, client: MusicAPIClient, library: Library, *,
                 schedule: PollSchedule = PollSchedule(), decoder: audio.Decoder | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 cancel: CancelToken | None = None, clock: Callable[[], float] = time.monotonic):
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
    def run(self, plan: Plan) -> Result:
        if plan.settings.output == "mp3" and not audio.mp3_decoder_available(self.decoder):
            raise audio.DecoderMissing()
        self._plan = plan
        self._started = self.clock()
        self._step = 0
        self._steps = plan.calls
        self._remaining_service = plan.service_seconds
        job = self.library.job(plan.request_key, {
            "prompt": plan.spec.prompt, "tags": plan.spec.tags, "title": plan.spec.title,
            "model": plan.settings.model, "service": self.client.base_url,
            "target_seconds": plan.target_seconds, "timeline": plan.timeline.to_dict()})
        lost = [s["name"] for s in job.steps if s["state"] in ("submitting", "unknown")]
        if lost:
            raise OutcomeUnknownError(
                f"An earlier run sent the '{lost[0]}' request, but its answer was lost.")
        from_library = job.state == "done" and all(
            Path(job.folder / name).exists() for name in job.data.get("sources", {}).values())
        if not from_library:
            self._generate(job)
        return self._fit(job, from_library)

    def _generate(self, job: Job):
        plan = self._plan
        job.data["state"] = "running"
        create = self._task(job, "create", "create", plan.create_body(), "Generating")
        parts = sorted(create, key=lambda p: -p.duration)   # the longer take needs fewer extends
        primary, alternate = parts[0], (parts[1] if len(parts) > 1 else None)
        offset, current, covered = 0.0, primary, primary.duration
        planned = plan.extends
        extends = 0
        while covered < plan.target_seconds:
            if extends >= planned + plan.settings.max_extra_extends:
                raise ServiceError(
                    f"The music is still {plan.target_seconds - covered:.0f} s short after "
                    f"{extends} extends, the most this plan allows.",
                    hint="Run again to continue from here (paid steps are kept), or choose a "
                         "model with longer clips.")
            extends += 1
            self._steps = max(self._steps, plan.calls + extends - planned)
            continue_at, song_time = choose_continue_at(plan, offset, current.duration)
            body = plan.extend_body(current.clip_id, continue_at, song_time,
                                    is_last_extend(plan, song_time), plan.target_seconds - song_time)
            new = self._task(job, f"extend-{extends}", "extend", body,
                             f"Extending {extends}/{max(planned, extends)}")
            offset, current = song_time, new[0]
            alternate = new[1] if len(new) > 1 else None
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
        sources = {"primary": self._source(job, "primary", current)}
        if alternate is not None:
            sources["alternate"] = self._source(job, "alternate", alternate)
        job.data.update(state="done", sources=sources,
                        clips={"primary": current.clip_id,
                               "alternate": alternate.clip_id if alternate else None})
        job.save()

    # --- one paid task, journalled ------------------------------------------------
    def _task(self, job: Job, name: str, kind: str, body: dict, stage: str) -> list[_Part]:
        self.cancel.check()
        self._step += 1
        entry = job.step(name)
        expected = self._expected(kind, body)
        if entry and entry["state"] == "done":
            self._remaining_service -= expected
            return [_Part(**c) for c in entry["clips"]]
        if entry is None:
            self._report(stage, expected, 0.0, "Sending the request")
            entry, task_id = self._paid(job, name, kind, body, lambda: self.client.submit(body))
            entry.update(task_id=task_id, state="polling", accepted=time.time())
            job.save()
        try:
            clips = self._poll(entry["task_id"], expected, stage, job, entry)
        except TaskFailedError:
            job.steps.remove(entry)        # the service refunds a failed task: a new try may be sent
            job.save()
            raise
        entry.update(state="done", clips=[vars(c) for c in clips], finished=time.time())
        job.save()
        self._remaining_service -= expected
        return clips

    @staticmethod
    def _paid(job: Job, name: str, kind: str, body: dict, send: Callable[[], str]) -> tuple[dict, str]:
        """Journal a paid request around ``send``: the intent first, then what became of it."""
        entry = job.begin(name, kind, body)
        try:
            return entry, send()
        except OutcomeUnknownError:
            entry["state"] = "unknown"     # may be charged: never sent again without the editor
            job.save()
            raise
        except MusicAPIError:
            job.steps.remove(entry)        # refused before any work: nothing was charged
            job.save()
            raise

    def _expected(self, kind: str, body: dict) -> float:
        if kind in ("concat", "wav"):
            return 4.0
        info = model_info(self._plan.settings.model)
        return info.service_seconds(float(body.get("duration") or info.typical_seconds))

    def _poll(self, task_id: str, expected: float, stage: str, job: Job, entry: dict) -> list[_Part]:
        started = self.clock()
        if entry.get("accepted"):
            # Resuming: the service has been working since the task was accepted.
            started -= max(0.0, time.time() - entry["accepted"])
        late_polls = 0
        while True:
            elapsed = self.clock() - started
            estimate = expected * self._pace
            delay = self.schedule.delay(elapsed, estimate, late_polls)
            if elapsed >= estimate * self.schedule.time_scale:
                late_polls += 1
            self._report(stage, estimate, elapsed)
            self.cancel.sleep(delay)
            status = self.client.get_task(task_id)
            self.polls[task_id] = self.polls.get(task_id, 0) + 1
            parts = self._finished(status)
            if parts is not None:
                taken = (self.clock() - started) / max(self.schedule.time_scale, 1e-9)
                self._pace = 0.5 * self._pace + 0.5 * max(0.2, min(5.0, taken / expected))
                return parts

    def _finished(self, status: TaskStatus) -> list[_Part] | None:
        if status.failure:
            raise TaskFailedError(
                f"MusicAPI reports the task {status.failure}"
                + (f": {status.error}" if status.error else "."), server_message=status.error)
        if status.not_ready or not status.clips:
            return None
        if any(not (c.done or c.failed) for c in status.clips):
            return None
        done = [c for c in status.clips if c.done and c.duration]
        if not done:
            message = "; ".join(c.error for c in status.failed_clips if c.error)
            raise TaskFailedError("Every clip of the task failed" + (f": {message}" if message else "."),
                                  server_message=message)
        return [_Part(c.clip_id, float(c.duration), c.audio_url) for c in done]

    # --- audio ----------------------------------------------------------------------
    def _source(self, job: Job, role: str, part: _Part) -> str:
        url = part.audio_url
        ext = "mp3"
        if self._plan.settings.output == "wav":
            ext = "wav"
            name = f"wav-{role}"
            entry = job.step(name)
            if entry is None:
                self._step += 1
                self._report("Converting", 4.0, 0.0)
                entry, url = self._paid(job, name, "wav", {"clip_id": part.clip_id},
                                        lambda: self.client.wav_url(part.clip_id))
                entry.update(state="done", url=url)
                job.save()
            url = entry["url"]
        filename = f"{part.clip_id}.{ext}"
        target = job.folder / filename
        if not target.exists():
            self._report("Downloading", 0.0, 0.0)
            self.client.download(url, target, should_stop=lambda: self.cancel.cancelled)
        return filename

    def _fit(self, job: Job, from_library: bool) -> Result:
        plan = self._plan
        timeline = plan.timeline
        self._report("Fitting", 0.0, 0.0)
        # Named from the request and the length it was fitted to: copies of different music
        # (two scenes of the same length, say) never share a name beside the project.
        tag = hashlib.sha256(repr((job.key, timeline.duration_samples, timeline.sample_rate))
                             .encode()).hexdigest()[:12]
        outputs, reports, notes = {}, {}, []
        for role, filename in job.data["sources"].items():
            self.cancel.check()
            source = audio.load(job.folder / filename, self.decoder)
            try:
                fitted, report = fit(source, timeline.duration_samples, timeline.sample_rate)
            except FitError as error:
                if role == "primary":
                    raise
                notes.append(f"The alternate take was left out: {error}.")
                continue
            outputs[role] = audio.write_wav(fitted, job.folder / f"fitted-{tag}-{role}.wav")
            reports[role] = report.to_dict()
            if role == "primary":
                notes.insert(0, f"Fit: {report.quality}.")
        provenance = {
            "scorefit_version": VERSION,
            "service": self.client.base_url,
            "request_key": job.key,
            "request": job.data.get("request", {}),
            "tasks": [{k: s.get(k) for k in ("name", "kind", "task_id", "clips", "submitted", "finished")}
                      for s in job.steps],
            "clips": job.data.get("clips", {}),
            "sources": job.data["sources"],
            "fit": reports,
            "timeline": timeline.to_dict(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "licence": LICENCE_NOTE,
        }
        sidecar = atomic_write_json(outputs["primary"].with_suffix(".json"), provenance)
        self._report("Done", 0.0, 0.0)
        return Result(outputs["primary"], outputs.get("alternate"), sidecar, provenance,
                      from_library, notes)

    def _report(self, stage: str, expected: float, elapsed: float, message: str = ""):
        later = max(0.0, self._remaining_service - expected) * self._pace * self.schedule.time_scale
        now = max(0.0, expected * self._pace * self.schedule.time_scale - elapsed)
        self.on_progress(Progress(stage, max(1, self._step), self._steps,
                                  self.clock() - self._started, now + later, message))
