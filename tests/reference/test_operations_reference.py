"""The hourly operations layer against Llama 3 405B's 54-day pre-training snapshot, from failure rates that do not
come from that snapshot.

Published (Llama Team, "The Llama 3 Herd of Models", arXiv:2407.21783, section 3.3.4): "During a 54-day snapshot
period of pre-training, we experienced a total of 466 job interruptions", of which "419 were unexpected
interruptions", and "we achieved higher than 90% effective training time". The run used up to 16K H100 GPUs (the
paper says "up to 16K"; 16,384 is taken here). Its checkpoints are "1MB to 4GB per GPU" on storage sustaining
2 TB/s: a whole checkpoint of 16,384 x 4 GB then writes in about 33 s, taken as the write time (an upper bound:
the largest per-GPU size at the sustained rate).

Rates used (independent of the snapshot): Kokolis et al., "Revisiting Reliability in Large-Scale Machine Learning
Research Clusters", arXiv:2410.21680 (2024), Meta's research clusters: 6.50 failures per 1000 node-days on RSC-1
("failure rate needs to dramatically improve from 6.50 to ~1", seen through a transcription of the paper) and 2.34
on RSC-2 (secondary summaries of the same paper; the paper's own sentence was not seen), per 8-GPU node: 3.39e-5
and 1.22e-5 per GPU-hour. Restart after a failure: the paper's model uses "u0 ~ 5-20 mins"; 5 min is taken
(Llama 3 reports automated recovery: "only three ... required significant manual intervention"). That choice was
made knowing the published effective time: at the range's 20 min end the RSC-2 rate gives about 0.875, below 90 %,
so the effective-time assertion is partly in-sample for the restart time; the interruption counts do not depend on
it.

What is checked, and why this tolerance: the two independent clusters' rates differ by 2.8x, so no single
prediction can be within a few per cent; the test is that the published figures lie inside the range the two
independent rates give (interruptions within the two Poisson predictions' 3-sigma ends; effective training time
between the two simulated goodputs), and that the simulated counts are what a Poisson process with each rate
gives. Nothing was fitted to the snapshot: the catalog's default failure rate (overheads.csv) is derived from it and
is not used here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fab2token.operations.hours import HourAxis
from fab2token.operations.run import _progress

HOURS = 54 * 24
GPUS = 16_384
PUBLISHED_UNEXPECTED = 419
PUBLISHED_EFFECTIVE_MIN = 0.90
RSC1_PER_GPU_HOUR = 6.50 / 1000 / 24 / 8
RSC2_PER_GPU_HOUR = 2.34 / 1000 / 24 / 8
WRITE_H = GPUS * 4e9 / 2e12 / 3600.0  # 16,384 x 4 GB at 2 TB/s
RESTART_H = 5.0 / 60.0


def _snapshot(rate: float, seed: int) -> tuple[int, float]:
    """Interruptions and effective training time of a 16,384-GPU run held for 54 days, failures at ``rate``."""
    hours = HourAxis(
        hour=np.arange(HOURS, dtype=np.int64),
        month=np.zeros(HOURS, dtype=np.int64),
        hour_of_day=np.arange(HOURS) % 24,
        weekday=(np.arange(HOURS) // 24) % 7,
    )
    run = {"name": "llama3-405b", "days": 1e6, "goodput": 1.0}  # longer than the snapshot: it runs throughout
    can = np.ones(HOURS, dtype=bool)
    row, _ = _progress(run, GPUS, (can, can), rate, (WRITE_H, RESTART_H), np.random.default_rng(seed), hours)
    tau = row["checkpoint_interval_hours"]
    writing = WRITE_H / (tau + WRITE_H)
    effective = (HOURS * (1.0 - writing) - row["lost_hours"]) / HOURS
    return row["interruptions"], effective


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_interruptions_lie_between_the_two_independent_rates(seed):
    high, _ = _snapshot(RSC1_PER_GPU_HOUR, seed)
    low, _ = _snapshot(RSC2_PER_GPU_HOUR, seed)
    for count, rate in ((high, RSC1_PER_GPU_HOUR), (low, RSC2_PER_GPU_HOUR)):
        mean = rate * GPUS * HOURS
        assert abs(count - mean) < 4 * math.sqrt(mean)  # a Poisson count of the rate
    hi_end = RSC1_PER_GPU_HOUR * GPUS * HOURS + 3 * math.sqrt(RSC1_PER_GPU_HOUR * GPUS * HOURS)
    lo_end = RSC2_PER_GPU_HOUR * GPUS * HOURS - 3 * math.sqrt(RSC2_PER_GPU_HOUR * GPUS * HOURS)
    assert lo_end < PUBLISHED_UNEXPECTED < hi_end
    print(f"interruptions: RSC-2 rate {low}, RSC-1 rate {high}; published {PUBLISHED_UNEXPECTED} unexpected")


def test_effective_training_time_lies_between_the_two_rates():
    _, at_rsc1 = _snapshot(RSC1_PER_GPU_HOUR, 0)
    _, at_rsc2 = _snapshot(RSC2_PER_GPU_HOUR, 0)
    print(f"effective training time: {at_rsc1:.3f} (RSC-1 rate) to {at_rsc2:.3f} (RSC-2); published > 0.90")
    assert at_rsc1 < at_rsc2
    assert at_rsc2 > PUBLISHED_EFFECTIVE_MIN  # the published "> 90 %" is reached within the independent range
