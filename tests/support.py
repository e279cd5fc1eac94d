"""Constants the tests share (a module of its own: each test folder has its own conftest)."""
from scorefit.core.musicapi import RetryPolicy

SPEED = 0.002          # the emulator takes 0.2 % of the real service time
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, connect_timeout=2, read_timeout=2)


def until(condition, what: str, limit: float = 60.0):
    """Wait for something another thread or process does (a server finishing a delayed
    answer, a worker reaching a call). ``limit`` only bounds a hang: a test never depends
    on how fast the machine is, only on the thing happening."""
    import time
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {limit:.0f} s")
        time.sleep(0.01)
