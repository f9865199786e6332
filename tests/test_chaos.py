"""A short run of the model-based chaos test (tests/chaos.py; `make chaos` is the long
one): random tendctl commands, kills, reloads and tail -f readers against tend as
PID 1, checked against a model after every step and once settled at the end.

CHAOS_SEEDS and CHAOS_STEPS change what runs; a failure names its seed, which
`make chaos SEED=N` replays.
"""
import os

import pytest

import chaos
from conftest import SLOW

SEEDS = [int(s) for s in os.environ.get("CHAOS_SEEDS", "1 2").split()]
STEPS = int(os.environ.get("CHAOS_STEPS", "150"))
BUDGET = 30 * SLOW  # seconds of steps per seed: a slow machine runs fewer of them


@pytest.mark.native  # it measures tend's wake-ups and memory
@pytest.mark.parametrize("seed", SEEDS)
def test_a_short_chaos_run(seed):
    failures = chaos.Chaos(seed, STEPS, time_budget=BUDGET).run()
    assert not failures, "\n".join(failures)
