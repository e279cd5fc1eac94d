"""Command line: fit a soundtrack to any timeline, against MusicAPI or the built-in emulator.

    scorefit fit --duration 120 --fps 24 --marker "30:tense build" -o score.wav --emulator
    scorefit fit --timeline cut.json -o score.wav          # real service, asks before paying
    scorefit plan --duration 600 --fps 25                  # what it would cost (offline)
    scorefit refit score.json --duration 131 -o score.wav  # after a recut: free when long enough
    scorefit fit-file song.wav -o cut.wav --frames 2157 --fps 23.976   # any track, no credits

Exit codes: 0 done, 1 failed, 2 bad usage or input, 130 cancelled (Ctrl-C stops safely
and keeps every paid step). Errors are one sentence on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from fractions import Fraction
from pathlib import Path

from . import __version__
from .core import (BackgroundJob, Choices, clean_text, loudness_target, config, ConfigurationError, connect, describe, Destination, fit_file,
                   FrameRate, host, InputError, JobState, Library, plan_for, Provenance, RefitError, refit_plan_for, report_path,
                   reuse_from, MAX_CUT_SECONDS, SAMPLE_RATES, ScoreFitError, Snapshot, Timeline)
from .emulator import built_in

OK, FAILED, USAGE, CANCELLED = 0, 1, 2, 130

# Editors' exports, read through OpenTimelineIO (the optional "interchange" extra).
INTERCHANGE = (".otio", ".xml", ".fcpxml", ".edl")
DEFAULT_OUTPUT = "scorefit.wav"


LOUDNESS_HELP = ("the music's delivery loudness: streaming (-14 LUFS), web (-16), ebu-r128 (-23), atsc-a85 "
                 "(-24), a number of LUFS, or off; true peak kept at -1 dBTP or below")
DUCK_HELP = ("dialogue audio starting with the cut (repeatable): the music is lowered 10 dB where it "
             "speaks; the keyframes are in the report")
ECHOED = 2000        # characters of one message at most: a file's text never floods the terminal


def _say(text, *, err: bool = False):
    """A line for the terminal, with every control code (an escape sequence in a marker's
    name could clear the screen) taken out."""
    print(clean_text(str(text), ECHOED), file=sys.stderr if err else sys.stdout)


class UsageError(ScoreFitError):
    """The command line itself is wrong or names input that cannot be used: exit 2."""


# --- what each option accepts ------------------------------------------------------------
def _seconds(text: str) -> str:
    """A positive number of seconds, kept as written so the timeline stays exact."""
    try:
        if Fraction(text.strip()) > 0:
            return text.strip()
    except (ValueError, ZeroDivisionError):
        pass
    raise argparse.ArgumentTypeError(f"expected a number of seconds above 0 (for example 42.5), not {text!r}")


def _rate(text: str) -> str:
    try:
        FrameRate.parse(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _marker(spec: str) -> dict:
    at, colon, name = spec.partition(":")
    try:
        if colon and Fraction(at.strip()) >= 0:
            return {"seconds": at.strip(), "name": name.strip()}
    except (ValueError, ZeroDivisionError):
        pass
    raise argparse.ArgumentTypeError(f'expected "SECONDS:words", for example "42.5:tense build", not {spec!r}')


def _positive(text: str) -> int:
    if text.strip().isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"expected a whole number above 0, not {text!r}")


# --- reading the cut ---------------------------------------------------------------------
def _library(args) -> Library:
    return Library(Path(args.library) if args.library else None)


def _timeline(args) -> Timeline:
    """The cut from --timeline FILE (ScoreFit JSON, or an editor's export) or --duration."""
    args.document = None
    if args.timeline and (args.timeline_format or Path(args.timeline).suffix.lower() in INTERCHANGE):
        from . import interchange
        try:
            args.document = interchange.read(Path(args.timeline), args.timeline_format, edl_fps=args.fps,
                                             sample_rate=args.sample_rate, name=args.timeline_name)
        except ScoreFitError as error:
            raise UsageError(str(error)) from None
        for note in args.document.notes:
            _say(f"Note: {note}")
        return args.document.model
    if args.timeline:
        return _timeline_file(Path(args.timeline))
    if not args.duration:
        raise UsageError("give --timeline FILE or --duration SECONDS (see --help)")
    return Timeline.from_dict({"duration_seconds": args.duration, "fps": args.fps,
                               "start_frame": args.start_frame, "name": args.name,
                               "sample_rate": args.sample_rate, "markers": args.marker or []})


def _timeline_file(path: Path) -> Timeline:
    where = f"{path} is not a ScoreFit timeline (see tools/sample_timeline.json): "
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UsageError(f"there is no timeline file at {path}") from None
    except OSError as error:
        raise UsageError(f"could not read {path}: {error.strerror or error}") from None
    except (ValueError, RecursionError) as error:     # RecursionError: nesting past any real file
        raise UsageError(f"{where}{error or 'it is nested too deeply'}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}it holds no JSON object")
    try:
        return Timeline.from_dict(data)
    except InputError as error:
        raise UsageError(f"{where}{error}") from None


def _out_timeline(args) -> str | None:
    """The adapter for --out-timeline, checked before anything is paid for."""
    if not getattr(args, "out_timeline", None):
        return None
    if args.document is None:
        raise UsageError("--out-timeline writes back an editor's export: give it with "
                         "--timeline (.otio, .xml, .fcpxml or .edl)")
    from . import interchange
    out = Path(args.out_timeline)
    chosen = None if out.suffix.lower() in interchange.FORMATS else args.document.adapter
    try:
        return interchange.check_writable(out, chosen)
    except ScoreFitError as error:
        raise UsageError(str(error)) from None


def _choices(args) -> Choices:
    return Choices(prompt=args.prompt or "", style=args.style, instrumental=not args.vocals,
                   model=args.model, output=args.output, alternate=not args.no_alternate,
                   seed=args.seed, loudness=loudness_target(getattr(args, "loudness", None)),
                   duck_under=tuple(Path(p).absolute() for p in getattr(args, "duck_under", None) or ()))


# --- drawing on a terminal ---------------------------------------------------------------
def _progress():
    """Progress on the terminal: one line redrawn, or in a log one line per stage."""
    last = [""]

    def show(snap: Snapshot):
        if not sys.stderr.isatty():
            if snap.stage != last[0]:
                last[0] = snap.stage
                sys.stderr.write(f"{snap.elapsed:6.1f} s  {snap.stage}\n")
            return
        left = f", {snap.time_left}" if snap.time_left else ""
        sys.stderr.write(f"\r{snap.stage:<14} {snap.fraction * 100:3.0f} % {snap.elapsed:6.1f} s{left}    ")
        sys.stderr.flush()
    return show


def _show(plan):
    print(f"Timeline: {plan.timeline.duration_timecode} at {plan.timeline.fps} fps "
          f"({float(plan.timeline.duration_seconds):.3f} s, {len(plan.timeline.markers)} markers)")
    print(f"Plan: {plan.describe()}")
    for note in ([plan.short_warning] if plan.short_warning else []) + plan.dropped:
        _say(f"Note: {note}")


# --- the subcommands ---------------------------------------------------------------------
def cmd_plan(args) -> int:
    """What a fit would ask for and cost: nothing is sent, so no key or network is needed."""
    plan = plan_for(_timeline(args), _choices(args))
    _show(plan)
    print(plan.spec.prompt)
    return OK


def _sends(plan, service, library: Library) -> bool:
    """Whether the run will send anything: not a free Refit, nor a run the library holds."""
    return bool(plan.calls) and library.job(plan.request_key(service.identity)).state is not JobState.DONE


def _connect(args, plan, library: Library):
    """The service, with a key only when something will be sent."""
    try:
        service = connect(emulator=built_in(args.output, seed=args.seed) if args.emulator else None,
                          base_url=args.base_url, sends=False)
        if not service.key and _sends(plan, service, library):
            connect(base_url=args.base_url)            # raises, saying how to set the key
    except ConfigurationError as error:
        raise UsageError(f"{error} (From the command line: 'scorefit key' stores the key; "
                         "--emulator tries ScoreFit for free.)") from None
    return service


def _confirmed(args, plan, service, library: Library) -> bool:
    if service.emulator is not None or args.yes or not _sends(plan, service, library):
        return True
    if not sys.stdin.isatty():
        raise UsageError("this spends MusicAPI credits; add --yes to confirm.")
    job = library.job(plan.request_key(service.identity))
    if job.paid:                  # a run again: say what is kept and what continuing may add
        most = max(plan.max_credits - job.paid, job.quote.get("credits", 0))
        question = f"{job.paid} credits are already paid for this request (kept). Spend up to {most} more?"
    else:
        question = f"Spend up to {plan.max_credits} credits?"
    return input(f"{question} [y/N] ").strip().lower() == "y"


def _run(args, plan) -> int:
    """The one job path, drawn on a terminal: confirm, run, report."""
    out_timeline = _out_timeline(args)
    library = _library(args)
    service = _connect(args, plan, library)
    _show(plan)
    try:
        if not _confirmed(args, plan, service, library):
            print("Nothing was sent.")
            return FAILED
    except BaseException:
        service.close()
        raise
    out = Path(args.output_file).absolute()
    job = BackgroundJob(plan, service, library, start_afresh=args.forget_pending,
                        destination=Destination(out.parent, out.stem)).start()
    snap = job.wait(_progress(), every=0.2)
    sys.stderr.write("\n")
    if snap.state != "done":
        _say(f"scorefit: {snap.error}", err=True)
        if snap.needs_check:
            sys.stderr.write("On the command line, Start Afresh is: run the same command again "
                             "with --forget-pending.\n")
        return CANCELLED if snap.state == "cancelled" else FAILED
    result = snap.result
    print(f"Soundtrack: {result.primary} ({plan.timeline.duration_samples} samples at "
          f"{plan.timeline.sample_rate} Hz, fit: {result.provenance.report()['method']})")
    print(f"Provenance: {result.sidecar}")
    if result.alternate:
        print(f"Alternate take: {result.alternate}")
    if not out_timeline:
        if snap.message:
            _say(snap.message)
        return OK
    from . import interchange
    outcome = host.deliver(interchange.FileHost(args.document, Path(args.out_timeline), out_timeline),
                           plan.timeline, snap)
    _say(outcome.text if outcome.ok else f"scorefit: {outcome.text}", err=not outcome.ok)
    return OK if outcome.ok else FAILED


def cmd_fit(args) -> int:
    return _run(args, plan_for(_timeline(args), _choices(args)))


def cmd_refit(args) -> int:
    """Fit the song behind an earlier result to a recut: free when it is long enough."""
    timeline = _timeline(args)
    try:
        provenance = Provenance.load(Path(args.provenance))
    except FileNotFoundError:
        raise UsageError(f"there is no provenance file at {args.provenance} (it is the .json written "
                         "beside each soundtrack)") from None
    except (OSError, ValueError, TypeError, RecursionError) as error:
        raise UsageError(f"{args.provenance} is not a readable provenance file ({error or 'nested too deeply'})") from None
    reuse = reuse_from(provenance.request_key, _library(args))
    return _run(args, refit_plan_for(timeline, _choices(args), reuse))


def cmd_fit_file(args) -> int:
    """Fit a file the editor owns to the cut; the report as JSON on stdout with --json."""
    if (args.duration is None) == (args.frames is None):
        raise UsageError("give the cut's length as --duration SECONDS or as --frames N --fps RATE")
    if args.frames is not None and args.fps is None:
        # The same count of frames is another length at 24, 25 or 30 fps: never guess it.
        raise UsageError("--frames needs the cut's frame rate: add --fps (24, 23.976, 25, 29.97 DF …)")
    if args.frames is not None:
        target = Timeline(FrameRate.parse(args.fps), args.frames, sample_rate=args.sample_rate).duration_samples
    else:
        if Fraction(args.duration) > MAX_CUT_SECONDS:
            raise UsageError(f"--duration {args.duration} is past the longest cut ScoreFit fits "
                             f"({MAX_CUT_SECONDS // 3600} hours)")
        target = round(Fraction(args.duration) * args.sample_rate)
    output = Path(args.output_file)
    try:
        report = fit_file(Path(args.input), output, target, args.sample_rate,
                          loudness=loudness_target(args.loudness), duck_under=tuple(map(Path, args.duck_under or ())))
    except ScoreFitError as error:
        raise UsageError(str(error)) from None
    except OSError as error:         # the input unreadable, or the output folder unwritable
        raise UsageError(f"{error.filename or output}: {error.strerror or error} (the output goes to "
                         f"{output}; -o chooses another place)") from None
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(f"Fitted: {output.absolute()} ({target} samples at {args.sample_rate} Hz)")
        print(f"Fit: {report.quality}")
        print(f"Report: {report_path(output).absolute()}")
    return OK


def cmd_credits(args) -> int:
    print(json.dumps(connect(base_url=args.base_url).client().credits()))
    return OK


def cmd_pending(args) -> int:
    library = _library(args)
    if args.forget:
        if not library.job_path(args.forget).exists():
            raise UsageError(f"no job {args.forget!r} in {library.root}; 'scorefit pending' lists them.")
        if library.busy(args.forget):
            raise UsageError(f"job {args.forget} is running in another ScoreFit right now: nothing was "
                             "forgotten. Wait for it, or cancel it there.")
        lost = library.job(args.forget).forget_lost()
        if not lost:
            print(f"Job {args.forget} has no lost request; its next run resumes where it stopped.")
        else:
            print(f"Forgot the lost {', '.join(lost)} request(s) of {args.forget}: the next run sends "
                  "only those again and reuses every paid step.")
        return OK
    jobs = library.pending()
    for job in jobs:
        steps = ", ".join(f"{s['name']}={s['state']}" for s in job.steps)
        elsewhere = "  (running in another ScoreFit now)" if library.busy(job.key) else ""
        _say(f"{job.key}  {job.request.get('title', '')}  {steps}{elsewhere}")
    if not jobs:
        print("No unfinished jobs.")
    return OK


def cmd_key(args) -> int:
    key = getpass.getpass("MusicAPI key (empty to remove): ") if sys.stdin.isatty() else sys.stdin.readline()
    config.set_api_key(key)
    print(f"Saved to {config.config_path()} (readable only by you)." if key.strip() else "Key removed.")
    return OK


# --- the parser --------------------------------------------------------------------------
class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every default shown (but not an absent one), and the examples kept as written."""

    def _get_help_string(self, action):
        if action.default in (None, False) or isinstance(action, argparse._VersionAction):
            return action.help
        return super()._get_help_string(action)


def _add(sub, name: str, text: str, examples: str, func):
    parser = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".",
                            epilog="examples:\n" + examples, formatter_class=_Help)
    parser.set_defaults(func=func)
    return parser


def _cut_options(p, stored: dict, *, fit: bool):
    cut = p.add_argument_group("the cut")
    cut.add_argument("--timeline", metavar="FILE",
                     help="an editor's export (.otio, .xml, .fcpxml, .edl), or ScoreFit JSON: fps, "
                          "duration_frames|duration_seconds, start_frame, markers")
    cut.add_argument("--timeline-format", metavar="FORMAT",
                     help="otio, xml, fcpxml or edl: the format of a --timeline file whose name ends otherwise")
    cut.add_argument("--timeline-name", metavar="NAME", help="which timeline, in a file that holds several")
    cut.add_argument("--duration", type=_seconds, metavar="SECONDS", help="the cut's length, without --timeline")
    cut.add_argument("--fps", type=_rate, default="24",
                     help="frame rate with --duration (and of an EDL): 24, 23.976, 29.97 DF, 30000/1001 …")
    cut.add_argument("--start-frame", type=int, default=0, metavar="N", help="the cut's first frame")
    cut.add_argument("--name", default="", help="the cut's name (goes into the prompt's title)")
    cut.add_argument("--marker", type=_marker, action="append", metavar='"SECONDS:words"',
                     help='a marker with --duration, repeatable, e.g. "42.5:tense build"')
    cut.add_argument("--sample-rate", type=int, default=48000, choices=SAMPLE_RATES, metavar="HZ",
                     help=f"the soundtrack's sample rate: {', '.join(map(str, SAMPLE_RATES))}")
    music = p.add_argument_group("the music")
    music.add_argument("--style", default=stored["style"], help="the words the derived prompt starts from")
    music.add_argument("--prompt", help="use this prompt instead of the derived one")
    music.add_argument("--vocals", action="store_true", default=not stored["instrumental"],
                       help="allow vocals (otherwise instrumental)")
    music.add_argument("--model", default=stored["model"], help="the MusicAPI model")
    music.add_argument("--output", choices=("wav", "mp3"), default=stored["output"],
                       help="the service's format: wav (lossless, 2 credits a take) or mp3 (needs FFmpeg)")
    music.add_argument("--no-alternate", action="store_true", default=not stored["alternate"],
                       help="fit only the first take (the alternate is free with each generation)")
    music.add_argument("--seed", type=int, default=0, help="another number asks for a new take of the same request")
    if not fit:
        return
    run = p.add_argument_group("the run")
    run.add_argument("--loudness", default=stored["loudness"], metavar="TARGET", help=LOUDNESS_HELP)
    run.add_argument("--duck-under", action="append", metavar="FILE", help=DUCK_HELP)
    run.add_argument("-o", "--output-file", default=DEFAULT_OUTPUT, metavar="WAV",
                     help="the fitted soundtrack, with its provenance .json and -alternate.wav beside it "
                          "(a relative name is in the current folder)")
    run.add_argument("--out-timeline", metavar="FILE",
                     help="also write the --timeline export back with the soundtrack on a new audio "
                          "track (.otio, .xml, .fcpxml, .edl)")
    run.add_argument("--emulator", action="store_true", default=stored["service"] == "emulator",
                     help="use the built-in MusicAPI emulator: free, placeholder music, no key")
    run.add_argument("--base-url", metavar="URL", help=f"MusicAPI address (otherwise {stored['base_url']})")
    run.add_argument("--library", metavar="FOLDER", help=f"where paid results are kept (otherwise {Library().root})")
    run.add_argument("--yes", action="store_true", help="do not ask before spending credits (scripts, CI)")
    run.add_argument("--forget-pending", action="store_true",
                     help="Start Afresh: send again only the requests whose answers were lost (after "
                          "checking them in your account); every paid step is reused")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scorefit", formatter_class=_Help,
                                     description="A soundtrack that fits the cut.",
                                     epilog="exit codes: 0 done, 1 failed, 2 bad usage or input, 130 cancelled")
    parser.add_argument("--version", action="version", version=f"scorefit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    stored = config.load_settings()      # the same defaults as Resolve's console mode
    p = _add(sub, "fit", "generate a soundtrack and fit it to the cut", """\
  scorefit fit --emulator --duration 120 --fps 23.976 --marker "95:tense build"
  scorefit fit --timeline cut.otio --out-timeline cut-scored.otio -o score.wav --yes""", cmd_fit)
    _cut_options(p, stored, fit=True)
    p = _add(sub, "plan", "show what a fit would ask for and cost (offline: no key, nothing sent)", """\
  scorefit plan --duration 600 --fps 25
  scorefit plan --timeline cut.xml --no-alternate --output mp3""", cmd_plan)
    _cut_options(p, stored, fit=False)
    p = _add(sub, "refit", "fit an earlier soundtrack's song to a recut (free when the song is long enough)",
             """\
  scorefit refit score.json --duration 131 -o score-v2.wav
  scorefit refit score.json --timeline recut.otio --out-timeline recut-scored.otio""", cmd_refit)
    p.add_argument("provenance", help="the .json written beside the earlier soundtrack")
    _cut_options(p, stored, fit=True)
    p = _add(sub, "fit-file", "fit an audio file you own to the cut's length (no credits)", """\
  scorefit fit-file song.wav -o cut.wav --frames 2157 --fps 23.976
  scorefit fit-file song.mp3 -o cut.wav --duration 95.5 --json""", cmd_fit_file)
    p.add_argument("input", help="WAV (16/24-bit, 32-bit float), or MP3 and others with FFmpeg")
    p.add_argument("-o", "--output-file", required=True, metavar="WAV", help="the fitted WAV (never the input)")
    p.add_argument("--duration", type=_seconds, metavar="SECONDS", help="the cut's length in seconds")
    p.add_argument("--frames", type=_positive, metavar="N", help="the cut's length in frames (with --fps)")
    p.add_argument("--fps", type=_rate, help="the cut's frame rate, with --frames: 24, 23.976, 29.97 DF, 30000/1001 …")
    p.add_argument("--sample-rate", type=int, default=48000, choices=SAMPLE_RATES, metavar="HZ",
                   help=f"the fitted file's sample rate: {', '.join(map(str, SAMPLE_RATES))}")
    p.add_argument("--loudness", default=stored["loudness"], metavar="TARGET", help=LOUDNESS_HELP)
    p.add_argument("--duck-under", action="append", metavar="FILE", help=DUCK_HELP)
    p.add_argument("--json", action="store_true", help="print the fit report as JSON")
    p = _add(sub, "credits", "show the MusicAPI account's credits", "  scorefit credits", cmd_credits)
    p.add_argument("--base-url", metavar="URL", help=f"MusicAPI address (otherwise {stored['base_url']})")
    p = _add(sub, "pending", "list unfinished (resumable) jobs", """\
  scorefit pending
  scorefit pending --forget 3f9c0a1b2d4e""", cmd_pending)
    p.add_argument("--library", metavar="FOLDER", help=f"where paid results are kept (otherwise {Library().root})")
    p.add_argument("--forget", metavar="KEY", help="forget a job's lost requests (after checking them in your account)")
    _add(sub, "key", "store the MusicAPI key in the private config file (asked for, or read from stdin)",
         "  scorefit key\n  echo \"$MY_KEY\" | scorefit key", cmd_key)
    sub.add_parser("emulator", help="run the MusicAPI emulator (see scorefit emulator --help)", add_help=False)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args, rest = parser.parse_known_args(argv)
        if args.command == "emulator":
            from .emulator.__main__ import main as emulator_main
            emulator_main(rest)
            return OK
        if rest:
            parser.error(f"unrecognised arguments: {' '.join(rest)}")
    except SystemExit as done:          # --help, --version, or argparse's usage error (2)
        return done.code if isinstance(done.code, int) else (OK if done.code is None else USAGE)
    except KeyboardInterrupt:
        return CANCELLED
    if config.problem():
        sys.stderr.write(f"scorefit: note: {config.problem()}\n")
    try:
        return args.func(args)
    except (UsageError, InputError, ConfigurationError, RefitError) as error:
        _say(f"scorefit: {error}", err=True)
        return USAGE
    except ScoreFitError as error:
        _say(f"scorefit: {describe(error)}", err=True)
        return FAILED
    except KeyboardInterrupt:
        sys.stderr.write("\nscorefit: cancelled; nothing was left half-written.\n")
        return CANCELLED


if __name__ == "__main__":
    sys.exit(main())
