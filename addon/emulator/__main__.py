"""``python -m scorefit.emulator``: run the MusicAPI emulator until Ctrl+C."""
import argparse
import time

from .server import DEFAULT_KEY, Emulator


def main(argv=None):
    parser = argparse.ArgumentParser(prog="scorefit-emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="API port (0 picks a free one)")
    parser.add_argument("--speed", type=float, default=0.05,
                        help="fraction of the real service time to take (1 = as slow as MusicAPI)")
    parser.add_argument("--credits", type=int, default=1000)
    parser.add_argument("--key", default=DEFAULT_KEY, help="the API key the emulator accepts")
    args = parser.parse_args(argv)
    emulator = Emulator(port=args.port, speed=args.speed, credits=args.credits, keys=(args.key,)).start()
    print(f"MusicAPI emulator on {emulator.url} (audio from {emulator.cdn_url}); key: {args.key}",
          flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
