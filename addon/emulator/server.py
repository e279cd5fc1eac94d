"""A local MusicAPI emulator: real HTTP on loopback, faithful to docs/musicapi.md.

Two servers run side by side, as in production: the API (needs the key) and a CDN
that serves the audio files (needs no key, so a client that leaks its key to the CDN
is caught: every request is logged with whether it carried one).

Used by the tests (in-process), by the demo, and by editors trying ScoreFit for free:
``python -m scorefit.emulator --port 8765``.
"""
from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from ..core.musicapi.waiting import SYSTEM_CLOCK, Clock
from . import synth

CREDIT_COST = {"create_music": 15, "extend_music": 15, "cover_music": 15, "concat_music": 2, "wav": 2}
# Per model: the longest clip one call yields (vendor FAQ, approximate) and what a call
# usually yields (docs/musicapi.md). The client keeps its own copy (core/plan.py): a test
# checks that the two agree.
MODEL_SECONDS = {
    "sonic-v3-5": (120, 85), "sonic-v4": (120, 85), "sonic-v4-5": (240, 160),
    "sonic-v4-5-plus": (240, 160), "sonic-v5": (480, 200), "sonic-v5-5": (480, 200),
    "sonic-v6": (480, 200), "sonic-v6-wild": (480, 200), "sonic-v6-mini": (240, 140),
}
MODEL_MAX_SECONDS = {name: most for name, (most, _typical) in MODEL_SECONDS.items()}
DURATION_TARGET_MODELS = {"sonic-v5-5", "sonic-v6", "sonic-v6-wild", "sonic-v6-mini"}
DEFAULT_KEY = "emulator-key"

MSG_NO_AUTH = "Authorization header is missing."
MSG_BAD_AUTH = "Invalid authorization format."
MSG_CREDITS = "The remaining credits are not enough. You can buy more one-time credit packs or subscribe."
MSG_MODERATION = "The song description needs moderation review."


@dataclass
class Fault:
    """One injected misbehaviour. ``match`` is "METHOD /path-prefix"; ``times`` how often.

    kinds: http (status/message/retry_after, before any work), gateway (the work is done
    and charged, then a gateway answers ``status`` instead: 502/503/504), reset, delay
    (answer after ``delay`` s, having done the work), malformed, task_failed, clip_failed,
    slow (audio trickles), truncated (audio cut short), html (a proxy's or sign-in page
    instead of JSON), forgotten (the service no longer knows the task), gone (audio 404).
    """
    kind: str
    match: str = ""
    times: int = 1
    status: int = 500
    message: str = ""
    retry_after: float | None = None
    delay: float = 0.0
    task_type: str = ""          # only requests of this task_type (e.g. "extend_music")

    def matches(self, method: str, path: str, task_type: str = "") -> bool:
        want_method, _, want_path = self.match.partition(" ")
        return ((not want_method or want_method == method) and path.startswith(want_path)
                and (not self.task_type or self.task_type == task_type))


@dataclass
class ClipRecord:
    clip_id: str
    task_id: str
    style: synth.Style
    segments: list            # synth.Segment, on the song clock
    ending: bool
    ready_at: float
    parent: str | None = None   # clip this one continues
    offset: float = 0.0          # where this clip starts on the song clock
    title: str = ""
    tags: str = ""
    mv: str = ""
    failed: str = ""

    @property
    def duration(self) -> float:
        return self.segments[-1].end - self.offset

    def ground_truth(self) -> dict:
        return {
            "bpm": self.style.bpm, "bar_seconds": self.style.bar_seconds, "beats_per_bar": 4,
            "song_offset": self.offset, "sample_rate": self.style.sample_rate,
            # Bar lines on the song clock are k * bar_seconds; in this clip, minus song_offset.
            "sections": [asdict(s) for s in self.segments],
            "ending": ({"start": self.segments[-1].end - synth.ENDING_BARS * self.style.bar_seconds,
                        "end": self.segments[-1].end} if self.ending else None),
        }


@dataclass
class TaskRecord:
    task_id: str
    kind: str
    created: float
    not_ready_until: float
    clips: list = field(default_factory=list)
    failure: str = ""
    error: str = ""
    cost: int = 0


class EmulatorState:
    """Everything the tests may read: ledger, request log, tasks, options."""

    def __init__(self, *, credits: int, speed: float, keys: set, seed: int, sample_rate: int,
                 task_not_found_status: int = 400, duration_format: str = "string",
                 wav_preparing: int = 0, prerender: bool = False, clip_scale: float = 1.0,
                 task_seconds: float | None = None):
        self.lock = threading.RLock()
        self.credits = credits
        self.speed = speed
        self.keys = keys
        self.rng = random.Random(seed)
        self.sample_rate = sample_rate
        self.task_not_found_status = task_not_found_status   # 400 (error page) or 404 (OpenAPI)
        self.duration_format = duration_format               # string | float | int
        self.wav_preparing = wav_preparing                    # answer 202 this many times first
        # The model's clips this much longer or shorter than it usually makes them (a model
        # that disappoints the plan's forecast).
        self.clip_scale = clip_scale
        # Every generation task this long (the service's seconds): a service slower or
        # faster than its usual pace (benchmarks of polling).
        self.task_seconds = task_seconds
        self.tasks: dict[str, TaskRecord] = {}
        self.clips: dict[str, ClipRecord] = {}
        self.faults: list[Fault] = []
        self.log: list[dict] = []
        self.charges: list[dict] = []
        self.audio_cache: dict[tuple, bytes] = {}
        # Render each clip's audio while its task "runs", as the real service has the file
        # ready when a clip succeeds (benchmarks); otherwise on first download (tests).
        self.prerender = prerender
        self.rendered: dict[str, Future] = {}
        self._wav_asks: dict[str, int] = {}

    # --- ledger -------------------------------------------------------------------
    def charge(self, what: str, ref: str) -> bool:
        cost = CREDIT_COST[what]
        if self.credits < cost:
            return False
        self.credits -= cost
        self.charges.append({"what": what, "ref": ref, "credits": cost})
        return True

    def refund(self, what: str, ref: str, cost: int):
        self.credits += cost
        self.charges.append({"what": "refund:" + what, "ref": ref, "credits": -cost})

    def charged(self, what: str | None = None) -> int:
        return sum(c["credits"] for c in self.charges if what is None or c["what"] == what)

    def take_fault(self, method: str, path: str, kinds: tuple, task_type: str = "") -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.kind in kinds and fault.times > 0 and fault.matches(method, path, task_type):
                    fault.times -= 1
                    return fault
        return None

    def service_seconds(self, kind: str, length: float) -> float:
        """How long the real service takes (vendor: 1-3 min for a song), before ``speed``."""
        if kind in ("create_music", "extend_music", "cover_music"):
            return self.task_seconds if self.task_seconds else 25.0 + 0.3 * length
        return 4.0

    def snapshot(self) -> dict:
        with self.lock:
            return {"credits": self.credits, "speed": self.speed,
                    "charges": list(self.charges), "log": list(self.log),
                    "tasks": {t.task_id: {"kind": t.kind, "clips": [c.clip_id for c in t.clips],
                                          "created": t.created,
                                          "ready": [c.ready_at for c in t.clips]}
                              for t in self.tasks.values()}}


class Emulator:
    """Start with ``Emulator().start()``; ``url`` is the API base, ``cdn_url`` the audio host."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, credits: int = 1000,
                 speed: float = 1.0, keys=(DEFAULT_KEY,), seed: int = 0, sample_rate: int = 48000,
                 clock: Clock = SYSTEM_CLOCK, **options):
        # The clock tasks run on: a test shares a ManualClock with its client, so a task's
        # progress follows the client's waits and nothing races the machine's load.
        self.clock = clock
        self.state = EmulatorState(credits=credits, speed=speed, keys=set(keys), seed=seed,
                                   sample_rate=sample_rate, **options)
        self._api = ThreadingHTTPServer((host, port), _make_handler(self, "api"))
        self._cdn = ThreadingHTTPServer((host, 0), _make_handler(self, "cdn"))
        for server in (self._api, self._cdn):
            server.daemon_threads = True
        self._threads: list[threading.Thread] = []
        self._renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator render")

    @property
    def url(self) -> str:
        host, port = self._api.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def key(self) -> str:
        """A key the emulator accepts (what a host's session connects with)."""
        return DEFAULT_KEY if DEFAULT_KEY in self.state.keys else next(iter(self.state.keys))

    @property
    def speed(self) -> float:
        return self.state.speed

    @property
    def cdn_url(self) -> str:
        host, port = self._cdn.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "Emulator":
        for server in (self._api, self._cdn):
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                      name="musicapi-emulator", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        self._renderer.shutdown(wait=False, cancel_futures=True)
        for server in (self._api, self._cdn):
            server.shutdown()
            server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def inject(self, kind: str, match: str = "", **kwargs) -> Fault:
        fault = Fault(kind, match, **kwargs)
        with self.state.lock:
            self.state.faults.append(fault)
        return fault

    def requests_to(self, method: str, path_prefix: str) -> list[dict]:
        with self.state.lock:
            return [r for r in self.state.log if r["method"] == method and r["path"].startswith(path_prefix)]

    # --- behaviour ----------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def create_task(self, body: dict) -> tuple[int, dict]:
        st = self.state
        kind = body.get("task_type") or "create_music"
        if kind not in ("create_music", "extend_music", "concat_music", "cover_music"):
            return 400, {"message": f"The 'task_type' field is invalid: {kind}."}
        error = self._validate(kind, body)
        if error:
            return 400, {"message": error}
        with st.lock:
            task_id = str(uuid.UUID(int=st.rng.getrandbits(128)))
            if not st.charge(kind, task_id):
                return 403, {"message": MSG_CREDITS}
            now = self.now()
            if kind == "concat_music":
                clips, service = self._concat(task_id, body, now)
            else:
                clips, service = self._generate(task_id, kind, body, now)
            # No clips are listed (HTTP 202 not_ready) for the first part of the work.
            task = TaskRecord(task_id, kind, now, now + 0.4 * service, clips, cost=CREDIT_COST[kind])
            failed = st.take_fault("POST", "/api/v1/sonic/create", ("task_failed",))
            if failed:
                task.failure, task.error = "failed", failed.message or "Generation failed."
            clip_failed = st.take_fault("POST", "/api/v1/sonic/create", ("clip_failed",))
            if clip_failed:
                clips[-1].failed = clip_failed.message or "The clip could not be generated."
            st.tasks[task_id] = task
            for clip in clips:
                st.clips[clip.clip_id] = clip
                if st.prerender:
                    st.rendered[clip.clip_id] = self._renderer.submit(self._pcm, clip)
        return 200, {"message": "success", "task_id": task_id}

    def _validate(self, kind: str, body: dict) -> str:
        mv = body.get("mv")
        if kind != "concat_music":
            if "custom_mode" not in body:
                return "The 'custom_mode' field is required."
            if mv not in MODEL_MAX_SECONDS:
                return f"The 'mv' field is invalid. Valid values: {', '.join(MODEL_MAX_SECONDS)}."
            limit = 3000 if mv in ("sonic-v3-5", "sonic-v4") else 5000
            if len(body.get("prompt") or "") > limit:
                return f"The prompt character length should be less than {limit}."
            if len(body.get("gpt_description_prompt") or "") > 400:
                return "The gpt_description_prompt character length should be less than 400."
            if len(body.get("tags") or "") >= 200:
                return "The tags character length should be less than 200."
            if len(body.get("title") or "") >= 80:
                return "The title character length should be less than 80."
            if "duration" in body and mv not in DURATION_TARGET_MODELS:
                return f"The 'duration' field is not supported by {mv}."
        if kind in ("extend_music", "concat_music", "cover_music"):
            parent = self.state.clips.get(str(body.get("continue_clip_id") or ""))
            if parent is None or parent.failed:
                return "The 'continue_clip_id' field is invalid."
            if kind == "extend_music":
                at = body.get("continue_at")
                if not isinstance(at, int) or isinstance(at, bool) or not 0 < at < parent.duration:
                    return "The 'continue_at' field must be a whole number of seconds inside the clip."
        return ""

    def _generate(self, task_id: str, kind: str, body: dict, now: float):
        st = self.state
        mv = body["mv"]
        max_len = MODEL_MAX_SECONDS[mv]
        text = " ".join(str(body.get(k) or "") for k in ("prompt", "tags", "gpt_description_prompt"))
        asked_end = bool(re.search(r"\[(outro|end|fade out)\]", text, re.I))
        energy = synth.energy_of(text)
        parent = st.clips.get(str(body.get("continue_clip_id") or "")) if kind != "create_music" else None
        if kind == "extend_music":
            # A continuation lives on its parent's song clock: same tempo, key and bar phase.
            style, offset = parent.style, parent.offset + body["continue_at"]
        else:
            style, offset = synth.Style.from_text(text, st.sample_rate), 0.0
        clips = []
        finish = 0.0
        for variation in range(2):
            target = body.get("duration")
            if target:
                length = float(target) * st.rng.uniform(0.9, 1.1)
            else:
                length = MODEL_SECONDS[mv][1] * st.rng.uniform(0.75, 1.25)
            length = min(length * st.clip_scale, max_len)
            ending = asked_end or (kind == "create_music" and st.rng.random() < 0.7)
            end = offset + length
            if ending:   # a song with an ending stops on a bar line
                end = max(round(end / style.bar_seconds), synth.ENDING_BARS + 1) * style.bar_seconds
            segment = synth.Segment(offset, end, energy if variation == 0 else min(2, energy + 1),
                                    str(body.get("tags") or ""))
            service = st.service_seconds(kind, end - offset)
            ready = now + (service + variation * 0.05 * service) * st.speed
            finish = max(finish, ready - now)
            clips.append(ClipRecord(
                clip_id=str(uuid.UUID(int=st.rng.getrandbits(128))), task_id=task_id, style=style,
                segments=[segment], ending=ending,
                ready_at=ready, parent=parent.clip_id if parent else None, offset=offset,
                title=str(body.get("title") or ""), tags=str(body.get("tags") or ""), mv=mv))
        return clips, finish

    def _concat(self, task_id: str, body: dict, now: float):
        st = self.state
        last = st.clips[body["continue_clip_id"]]
        chain = [last]
        while chain[-1].parent:
            chain.append(st.clips[chain[-1].parent])
        chain.reverse()
        segments = []
        for clip, following in zip(chain, chain[1:] + [None]):
            cut = following.offset if following else clip.segments[-1].end
            segments += [synth.Segment(s.start, min(s.end, cut), s.energy, s.tags)
                         for s in clip.segments if s.start >= clip.offset and s.start < cut]
        service = st.service_seconds("concat_music", 0)
        whole = ClipRecord(str(uuid.UUID(int=st.rng.getrandbits(128))), task_id, last.style, segments,
                           last.ending, now + service * st.speed, parent=None, offset=0.0,
                           title=last.title, tags=last.tags, mv=last.mv)
        return [whole], service * st.speed

    def task_view(self, task_id: str) -> tuple[int, dict]:
        st = self.state
        with st.lock:
            task = st.tasks.get(task_id)
            if task is None:
                if st.task_not_found_status == 404:
                    return 404, {"message": "Task not found"}
                return 400, {"message": "task not found."}
            now = self.now()
            if now < task.not_ready_until:
                return 202, {"type": "not_ready"}
            if task.failure:
                if task.cost:
                    st.refund(task.kind, task_id, task.cost)
                    task.cost = 0
                return 200, {"type": task.failure, "error": task.error}
            return 200, {"code": 200, "message": "success",
                         "data": [self._clip_json(c, now) for c in task.clips]}

    def _clip_json(self, clip: ClipRecord, now: float) -> dict:
        done = now >= clip.ready_at
        state = "failed" if clip.failed and done else ("succeeded" if done else "running")
        duration = round(clip.duration, 2)
        fmt = self.state.duration_format
        shown = {"string": f"{duration:.2f}", "float": duration, "int": int(round(duration))}[fmt]
        return {
            "clip_id": clip.clip_id, "state": state, "title": clip.title, "tags": clip.tags,
            "lyrics": "", "image_url": "", "video_url": None, "mv": clip.mv,
            "audio_url": f"{self.cdn_url}/audio/{clip.clip_id}.mp3" if state == "succeeded" else "",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "gpt_description_prompt": None, "negative_tags": "", "style_weight": 0.5,
            "weirdness_constraint": 0.5, "duration": shown if state == "succeeded" else None,
            "error": clip.failed if state == "failed" else None,
            "emulator": clip.ground_truth(),
        }

    def wav(self, body: dict) -> tuple[int, dict]:
        st = self.state
        clip_id = str(body.get("clip_id") or "")
        with st.lock:
            clip = st.clips.get(clip_id)
            if clip is None or clip.failed or self.now() < clip.ready_at:
                return 404, {"message": "clip not found."}
            asks = st._wav_asks.get(clip_id, 0)
            st._wav_asks[clip_id] = asks + 1
            if asks < st.wav_preparing:
                return 202, {"type": "not_ready", "message": "The WAV file is being prepared."}
            if not st.charge("wav", clip_id):
                return 403, {"message": MSG_CREDITS}
        return 200, {"message": "success", "data": {"wav_url": f"{self.cdn_url}/audio/{clip_id}.wav"}}

    @staticmethod
    def _pcm(clip: ClipRecord) -> bytes:
        return synth.render(clip.style, clip.segments, clip.ending)

    def audio(self, name: str) -> bytes | None:
        clip_id, _, ext = name.rpartition(".")
        st = self.state
        with st.lock:
            clip = st.clips.get(clip_id)
            if clip is None or ext not in ("mp3", "wav") or clip.failed or self.now() < clip.ready_at:
                return None
            cached = st.audio_cache.get((clip_id, ext))
        if cached is not None:
            return cached
        early = st.rendered.get(clip_id)
        pcm = early.result() if early is not None else self._pcm(clip)
        data = synth.wav_bytes(pcm, clip.style.sample_rate) if ext == "wav" else \
            synth.mp3_bytes(pcm, clip.style.sample_rate)
        with st.lock:
            st.audio_cache[(clip_id, ext)] = data
        return data


def _make_handler(emulator: Emulator, role: str):
    state = emulator.state

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "MusicAPI-Emulator/1.0"

        def log_message(self, *args):  # keep test output quiet; the state log has it all
            pass

        def _send_json(self, status: int, body, headers=None):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if self.headers.get("Connection", "").lower() == "close":
                # Said, as HTTP/1.1 servers do, so the client never reuses a closing connection.
                self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str):
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            entry = {"method": method, "path": path, "role": role, "time": time.time(),
                     "clock": emulator.now(),
                     "authorized": "Authorization" in self.headers}
            with state.lock:
                state.log.append(entry)
            if path.startswith("/_emulator/"):
                return self._control(method, path, raw)
            try:
                task_type = str(json.loads(raw or b"{}").get("task_type") or "create_music") if method == "POST" else ""
            except (ValueError, AttributeError):
                task_type = ""
            fault = state.take_fault(method, path, ("http", "gateway", "reset", "malformed", "delay", "html",
                                                    "forgotten"), task_type)
            if fault and fault.kind == "html":
                entry["status"] = 200
                page = b"<!doctype html><html><body>Please sign in to the network</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                return self.wfile.write(page)
            if fault and fault.kind == "forgotten":
                entry["status"] = state.task_not_found_status
                return self._send_json(state.task_not_found_status, {"message": "task not found."})
            if fault and fault.kind == "reset":
                entry["status"] = "reset"
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault and fault.kind == "http":
                entry["status"] = fault.status
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                message = fault.message or {403: MSG_MODERATION}.get(fault.status, "Internal server error.")
                return self._send_json(fault.status, {"message": message}, headers)
            if role == "cdn":
                return self._audio(method, path, entry)
            status, body = self._api(method, path, raw)
            if fault and fault.kind == "delay":
                time.sleep(fault.delay)
            if fault and fault.kind == "malformed":
                status, body = 200, b'{"message": "success", "data": [{"clip_'
            if fault and fault.kind == "gateway":
                status, body = fault.status, {"message": fault.message or "Bad gateway."}
            entry["status"] = status
            self._send_json(status, body)

        def _api(self, method: str, path: str, raw: bytes):
            auth = self.headers.get("Authorization")
            if not auth:
                return 401, {"message": MSG_NO_AUTH}
            scheme, _, key = auth.partition(" ")
            if scheme != "Bearer" or not key:
                return 401, {"message": MSG_BAD_AUTH}
            if key not in state.keys:
                return 401, {"message": "Invalid API key."}
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return 400, {"message": "The request body is not valid JSON."}
            if method == "POST" and path == "/api/v1/sonic/create":
                return emulator.create_task(body)
            if method == "POST" and path == "/api/v1/sonic/wav":
                return emulator.wav(body)
            if method == "GET" and path.startswith("/api/v1/sonic/task/"):
                task_id = path.rsplit("/", 1)[1]
                return emulator.task_view(task_id) if task_id else (400, {"message": "missing task id."})
            if method == "GET" and path in ("/api/v1/sonic/task", "/api/v1/sonic/task/"):
                return 400, {"message": "missing task id."}
            if method == "GET" and path == "/api/v1/get-credits":
                return 200, {"credits": state.credits, "extra_credits": 0}
            return 404, {"message": "Not found."}

        def _audio(self, method: str, path: str, entry: dict):
            fault = state.take_fault(method, path, ("slow", "truncated", "gone"))
            data = emulator.audio(path.rsplit("/", 1)[-1]) if path.startswith("/audio/") else None
            if fault and fault.kind == "gone":
                data = None
            if data is None:
                entry["status"] = 404
                return self._send_json(404, {"message": "Not found."})
            entry["status"] = 200
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav" if path.endswith(".wav") else "audio/mpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if method == "HEAD":
                return
            if fault and fault.kind == "truncated":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            step = 1 << 16
            for i in range(0, len(data), step):
                self.wfile.write(data[i:i + step])
                if fault and fault.kind == "slow":
                    time.sleep(fault.delay or 0.01)

        def _control(self, method: str, path: str, raw: bytes):
            if path == "/_emulator/state":
                return self._send_json(200, state.snapshot())
            if path == "/_emulator/faults" and method == "POST":
                for item in json.loads(raw or b"[]"):
                    emulator.inject(**item)
                return self._send_json(200, {"message": "ok"})
            if path == "/_emulator/credits" and method == "POST":
                with state.lock:
                    state.credits = int(json.loads(raw)["credits"])
                return self._send_json(200, {"credits": state.credits})
            return self._send_json(404, {"message": "Not found."})

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_HEAD(self):
            self._handle("HEAD")

    return Handler
