"""Constants the tests share (a module of its own: each test folder has its own conftest)."""
from scorefit.core.musicapi import RetryPolicy

SPEED = 0.002          # the emulator takes 0.2 % of the real service time
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, connect_timeout=2, read_timeout=2)
