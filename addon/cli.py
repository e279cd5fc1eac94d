"""Command line: fit a soundtrack to any timeline, against MusicAPI or the built-in emulator.

    scorefit fit --duration 120 --fps 24 --marker "30:tense build" -o score.wav --emulator
    scorefit fit --timeline cut.json -o score.wav          # real service, asks before paying
    scorefit plan --duration 600 --fps 25                  # what it would cost (offline)
    scorefit refit score.json --duration 131 -o score.wav  # after a recut: free when long enough
    scorefit fit-file song.wav -o cut.wav --frames 2157 --fps 23.976   # any track, no credits
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from . import __version__
from .core import config
from .core.errors import ScoreFitError
from .core.fit_file import fit_file, report_path
from .core.library import Library
from .core.refit import reuse_from
from .core.session import (BackgroundJob, Choices, Destination, Snapshot, connect, describe, plan_for,
                           refit_plan_for)
from .core.timeline import FrameRate, Timeline
from .emulator import built_in


# Editors' exports, read through OpenTimelineIO (the optional "interchange" extra).
INTERCHANGE = (".otio", ".xml", ".fcpxml", ".edl")


def _library(args) -> Library:
    return Library(Path(args.library) if args.library else None)


def _timeline(args) -> Timeline:
    """The cut from --timeline FILE (ScoreFit JSON, or an editor's export) or --duration; a
    clear message (no traceback) if it can't be read."""
    args.document = None
    if args.timeline and (args.timeline_format or Path(args.timeline).suffix.lower() in INTERCHANGE):
        from . import interchange
        try:
            args.document = interchange.read(Path(args.timeline), args.timeline_format, edl_fps=args.fps,
                                             sample_rate=args.sample_rate, name=args.timeline_name)
        except ScoreFitError as error:
            raise SystemExit(f"scorefit: {error}") from None
        for note in args.document.notes:
            print(f"Note: {note}")
        return args.document.model
    where = ""
    if args.timeline:
        path = Path(args.timeline)
        where = f"{path} is not a ScoreFit timeline (see tools/sample_timeline.json): "
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise SystemExit(f"scorefit: there is no timeline file at {path}") from None
        except OSError as error:
            raise SystemExit(f"scorefit: could not read {path}: {error.strerror or error}") from None
        except ValueError as error:
            raise SystemExit(f"scorefit: {where}{error}") from None
        if not isinstance(data, dict):
            raise SystemExit(f"scorefit: {where}it holds no JSON object")
    elif args.duration:
        data = {"duration_seconds": args.duration, "fps": args.fps, "start_frame": args.start_frame,
                "name": args.name, "sample_rate": args.sample_rate, "markers": []}
        for spec in args.marker or ():
            at, _, name = spec.partition(":")
            data["markers"].append({"seconds": at, "name": name})
    else:
        raise SystemExit("scorefit: give --timeline FILE or --duration SECONDS (see --help)")
    try:
        return Timeline.from_dict(data)
    except KeyError as error:
        raise SystemExit(f"scorefit: {where}it has no {error} field") from None
    except (ValueError, TypeError, AttributeError) as error:
        raise SystemExit(f"scorefit: {where}{error}") from None


def _out_timeline(args) -> str | None:
    """The adapter for --out-timeline, checked before anything is paid for."""
    if not getattr(args, "out_timeline", None):
        return None
    if args.document is None:
        raise SystemExit("scorefit: --out-timeline writes back an editor's export: give it with "
                         "--timeline (.otio, .xml, .fcpxml or .edl)")
    from . import interchange
    out = Path(args.out_timeline)
    try:
        chosen = None if out.suffix.lower() in interchange.FORMATS else args.document.adapter
        return interchange.check_writable(out, chosen)
    except ScoreFitError as error:
        raise SystemExit(f"scorefit: {error}") from None


def _choices(args) -> Choices:
    return Choices(prompt=args.prompt or "", style=args.style, instrumental=not args.vocals,
                   model=args.model, output=args.output, alternate=not args.no_alternate,
                   seed=args.seed)


def _progress():
    """Progress on the terminal: one line redrawn, or in a log one line per stage."""
    last = [""]

    def show(snap: Snapshot):
        if not sys.stderr.isatty():
            if snap.stage != last[0]:
                last[0] = snap.stage
                sys.stderr.write(f"{snap.elapsed:6.1f} s  {snap.stage}\n")
            return
        left = f", about {snap.remaining:.0f} s left" if snap.remaining else ""
        sys.stderr.write(f"\r{snap.stage:<14} {snap.fraction * 100:3.0f} % {snap.elapsed:6.1f} s{left}    ")
        sys.stderr.flush()
    return show


def _show(plan):
    print(f"Timeline: {plan.timeline.duration_timecode} at {plan.timeline.fps} fps "
          f"({float(plan.timeline.duration_seconds):.3f} s, {len(plan.timeline.markers)} markers)")
    print(f"Plan: {plan.describe()}")
    for note in ([plan.short_warning] if plan.short_warning else []) + plan.dropped:
        print(f"Note: {note}")


def cmd_plan(args) -> int:
    """What a fit would ask for and cost: nothing is sent, so no key or network is needed."""
    try:
        plan = plan_for(_timeline(args), _choices(args))
    except ValueError as error:         # e.g. an unknown model
        raise SystemExit(f"scorefit: {error}") from None
    _show(plan)
    print(plan.spec.prompt)
    return 0


def _connect(args):
    try:
        return connect(emulator=built_in(args.output) if args.emulator else None, base_url=args.base_url)
    except ScoreFitError as error:
        raise SystemExit(f"scorefit: {error} (From the command line: 'scorefit key' stores the key; "
                         "--emulator tries ScoreFit for free.)") from None


def _run(args, plan, service) -> int:
    """The one job path, drawn on a terminal: confirm, run, report."""
    try:
        out_timeline = _out_timeline(args)
    except SystemExit:
        service.close()
        raise
    _show(plan)
    if plan.calls and service.emulator is None and not args.yes:
        if not sys.stdin.isatty():
            service.close()
            raise SystemExit("scorefit: this spends MusicAPI credits; add --yes to confirm.")
        if input(f"Spend up to {plan.max_credits} credits? [y/N] ").strip().lower() != "y":
            service.close()
            return 1
    out = Path(args.output_file)
    job = BackgroundJob(plan, service, _library(args), start_afresh=args.forget_pending,
                        destination=Destination(out.parent, out.stem)).start()
    snap = job.wait(_progress(), every=0.2)
    sys.stderr.write("\n")
    if snap.state != "done":
        sys.stderr.write(f"scorefit: {snap.error}\n")
        if snap.needs_check:
            sys.stderr.write("On the command line, Start Afresh is: run the same command again "
                             "with --forget-pending.\n")
        return 130 if snap.state == "cancelled" else 2
    result = snap.result
    print(f"Soundtrack: {result.primary} ({plan.timeline.duration_samples} samples at "
          f"{plan.timeline.sample_rate} Hz, fit: {result.provenance['fit']['primary']['method']})")
    print(f"Provenance: {result.sidecar}")
    if result.alternate:
        print(f"Alternate take: {result.alternate}")
    if snap.message:
        print(snap.message)
    if out_timeline:
        from . import interchange
        try:
            for note in interchange.write(args.document, Path(args.out_timeline), result.primary,
                                          result.alternate, out_timeline):
                print(f"Note: {note}")
        except (ScoreFitError, OSError) as error:
            sys.stderr.write(f"scorefit: the timeline could not be written ({error}); the soundtrack "
                             f"is at {result.primary}\n")
            return 2
        print(f"Timeline with the soundtrack: {args.out_timeline} (import it into your editor)")
    return 0


def cmd_fit(args) -> int:
    timeline = _timeline(args)
    try:
        plan = plan_for(timeline, _choices(args))
    except ValueError as error:
        raise SystemExit(f"scorefit: {error}") from None
    return _run(args, plan, _connect(args))


def cmd_refit(args) -> int:
    """Fit the song behind an earlier result to a recut: free when it is long enough."""
    timeline = _timeline(args)
    try:
        provenance = json.loads(Path(args.provenance).read_text("utf-8"))
        reuse = reuse_from(provenance, _library(args))
        plan = refit_plan_for(timeline, _choices(args), reuse)
    except FileNotFoundError:
        raise SystemExit(f"scorefit: there is no provenance file at {args.provenance} (it is the "
                         ".json written beside each soundtrack)") from None
    except (OSError, ValueError, ScoreFitError) as error:
        raise SystemExit(f"scorefit: {describe(error) if isinstance(error, ScoreFitError) else error}") from None
    return _run(args, plan, _connect(args))


def cmd_fit_file(args) -> int:
    """Fit a file the editor owns to the cut; the report as JSON on stdout with --json."""
    if (args.duration is None) == (args.frames is None):
        raise SystemExit("scorefit: give the cut's length as --duration SECONDS or as --frames N --fps RATE")
    if args.frames is not None and args.fps is None:
        # The same count of frames is another length at 24, 25 or 30 fps: never guess it.
        raise SystemExit("scorefit: --frames needs the cut's frame rate: add --fps (24, 23.976, 25, 29.97 DF …)")
    try:
        if args.frames is not None:
            if args.frames < 1:
                raise ValueError("--frames must be at least 1")
            target = Timeline(FrameRate.parse(args.fps), args.frames, sample_rate=args.sample_rate).duration_samples
        else:
            if args.duration <= 0:
                raise ValueError("--duration must be more than 0 seconds")
            target = round(args.duration * args.sample_rate)
        report = fit_file(Path(args.input), Path(args.output_file), target, args.sample_rate)
    except (ScoreFitError, ValueError) as error:
        sys.stderr.write(f"scorefit: {error}\n")
        return 2
    except OSError as error:         # the input unreadable, or the output folder unwritable
        sys.stderr.write(f"scorefit: {error.filename or args.output_file}: {error.strerror or error} "
                         f"(the output goes to {args.output_file}; -o chooses another place)\n")
        return 2
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(f"Fitted: {args.output_file} ({target} samples at {args.sample_rate} Hz)")
        print(f"Fit: {report.quality}")
        print(f"Report: {report_path(Path(args.output_file))}")
    return 0


def cmd_credits(args) -> int:
    try:
        print(json.dumps(connect(base_url=args.base_url).client().credits()))
    except ScoreFitError as error:
        sys.stderr.write(f"scorefit: {error}\n")
        return 2
    return 0


def cmd_pending(args) -> int:
    library = _library(args)
    if args.forget:
        if not library.job_path(args.forget).exists():
            print(f"scorefit: no job {args.forget!r} in {library.root}; 'scorefit pending' lists them.",
                  file=sys.stderr)
            return 2
        lost = library.job(args.forget).forget_lost()
        if not lost:
            print(f"Job {args.forget} has no lost request; its next run resumes where it stopped.")
        else:
            print(f"Forgot the lost {', '.join(lost)} request(s) of {args.forget}: the next run sends "
                  "only those again and reuses every paid step.")
        return 0
    jobs = library.pending()
    for job in jobs:
        steps = ", ".join(f"{s['name']}={s['state']}" for s in job.steps)
        print(f"{job.key}  {job.data.get('request', {}).get('title', '')}  {steps}")
    if not jobs:
        print("No unfinished jobs.")
    return 0


def cmd_key(args) -> int:
    key = getpass.getpass("MusicAPI key (empty to remove): ") if sys.stdin.isatty() else sys.stdin.readline()
    config.set_api_key(key)
    print(f"Saved to {config.config_path()} (readable only by you)." if key.strip() else "Key removed.")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scorefit", description="A soundtrack that fits the cut.")
    parser.add_argument("--version", action="version", version=f"scorefit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    stored = config.load_settings()      # the same defaults as Resolve's console mode
    for name, text, func in (("fit", "fit a soundtrack", cmd_fit),
                             ("plan", "show the plan and its cost (offline)", cmd_plan),
                             ("refit", "fit an earlier soundtrack's song to a recut", cmd_refit)):
        p = sub.add_parser(name, help=text)
        if name == "refit":
            p.add_argument("provenance", help="the .json written beside the earlier soundtrack")
        p.add_argument("--timeline", help="an editor's export (.otio, .xml, .fcpxml, .edl), or ScoreFit "
                                          "JSON: fps, duration_frames|duration_seconds, start_frame, markers")
        p.add_argument("--timeline-format", help="otio, xml, fcpxml or edl, for a file with another ending")
        p.add_argument("--timeline-name", help="which timeline, in a file that holds several")
        if name != "plan":
            p.add_argument("--out-timeline", help="write the timeline back with the soundtrack on a new "
                                                  "audio track (.otio, .xml, .fcpxml, .edl)")
        p.add_argument("--duration", type=float, help="timeline length in seconds")
        p.add_argument("--fps", default="24", help="24, 23.976, 29.97 DF, 30000/1001 … (an EDL's rate too)")
        p.add_argument("--start-frame", type=int, default=0)
        p.add_argument("--name", default="")
        p.add_argument("--marker", action="append", help='"SECONDS:words", e.g. "42.5:tense build"')
        p.add_argument("--sample-rate", type=int, default=48000)
        p.add_argument("--style", default=stored["style"])
        p.add_argument("--prompt", help="use this prompt instead of the derived one")
        p.add_argument("--vocals", action="store_true", default=not stored["instrumental"],
                       help="allow vocals (default: instrumental)")
        p.add_argument("--model", default=stored["model"])
        p.add_argument("--output", choices=("wav", "mp3"), default=stored["output"],
                       help="source format: wav (lossless, 2 credits) or mp3 (needs FFmpeg)")
        p.add_argument("--no-alternate", action="store_true", default=not stored["alternate"],
                       help="fit only the first take")
        p.add_argument("--seed", type=int, default=0, help="another number asks for a new take")
        p.add_argument("--base-url", help="MusicAPI address (default from the config file)")
        p.add_argument("--emulator", action="store_true", default=stored["service"] == "emulator",
                       help="use the built-in emulator (free)")
        p.add_argument("--library", help="library folder (default: per-user data folder)")
        p.add_argument("--yes", action="store_true", help="do not ask before spending credits")
        p.add_argument("--forget-pending", action="store_true",
                       help="Start Afresh: send again only the requests whose answers were lost "
                            "(after checking them in your account); every paid step is reused")
        p.add_argument("-o", "--output-file", default="scorefit.wav")
        p.set_defaults(func=func)
    p = sub.add_parser("fit-file", help="fit any audio file to the cut's length (no credits)")
    p.add_argument("input", help="WAV (16/24-bit, 32-bit float), or MP3 and others with FFmpeg")
    p.add_argument("-o", "--output-file", required=True, help="the fitted WAV")
    p.add_argument("--duration", type=float, help="the cut's length in seconds")
    p.add_argument("--frames", type=int, help="the cut's length in frames (with --fps)")
    p.add_argument("--fps", help="the cut's frame rate, with --frames: 24, 23.976, 29.97 DF, 30000/1001 …")
    p.add_argument("--sample-rate", type=int, default=48000)
    p.add_argument("--json", action="store_true", help="print the fit report as JSON")
    p.set_defaults(func=cmd_fit_file)
    p = sub.add_parser("credits", help="show the account's credits")
    p.add_argument("--base-url")
    p.set_defaults(func=cmd_credits)
    p = sub.add_parser("pending", help="list unfinished (resumable) jobs")
    p.add_argument("--library")
    p.add_argument("--forget", metavar="KEY",
                   help="forget a job's lost requests (after checking them in your account)")
    p.set_defaults(func=cmd_pending)
    p = sub.add_parser("key", help="store the MusicAPI key in the private config file")
    p.set_defaults(func=cmd_key)
    p = sub.add_parser("emulator", help="run the MusicAPI emulator", add_help=False)
    p.set_defaults(func=None)
    args, rest = parser.parse_known_args(argv)
    if args.command == "emulator":
        from .emulator.__main__ import main as emulator_main
        emulator_main(rest)
        return 0
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
