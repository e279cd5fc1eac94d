"""``python -m scorefit.emulator``: run the MusicAPI emulator until Ctrl+C."""
import argparse
import os
import sys
import time

from .server import DEFAULT_KEY, Emulator


def main(argv=None):
    parser = argparse.ArgumentParser(prog="scorefit-emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="API port (0 picks a free one)")
    parser.add_argument("--speed", type=float, default=0.05,
                        help="fraction of the real service time to take (1 = as slow as MusicAPI)")
    parser.add_argument("--credits", type=int, default=1000)
    parser.add_argument("--key", default=DEFAULT_KEY, help="the API key the emulator accepts")
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same music")
    parser.add_argument("--sample-rate", type=int, default=48000)
    parser.add_argument("--prerender", action="store_true",
                        help="render each clip's audio while its task runs, so it is ready when the "
                             "clip succeeds, as the real service's is (benchmarks)")
    parser.add_argument("--task-seconds", type=float,
                        help="every generation task takes this long (the service's seconds; benchmarks)")
    parser.add_argument("--exit-with-stdin", action="store_true",
                        help="stop when standard input closes (a host that started this one exits)")
    args = parser.parse_args(argv)
    emulator = Emulator(port=args.port, speed=args.speed, credits=args.credits, keys=(args.key,),
                        seed=args.seed, sample_rate=args.sample_rate, prerender=args.prerender,
                        task_seconds=args.task_seconds).start()
    print(f"MusicAPI emulator on {emulator.url} (audio from {emulator.cdn_url}); key: {args.key}",
          flush=True)
    try:
        if args.exit_with_stdin:
            sys.stdin.buffer.read()
        else:
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    emulator.stop()
    if args.exit_with_stdin:
        # The host is gone or done: leave now, not after an MP3 still being encoded for it.
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
