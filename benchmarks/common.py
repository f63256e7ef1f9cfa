"""Timing helpers for benchmarks: like with like, measured side by side.

Every ratio ``make bench`` prints comes from :func:`paired` (in-process, A B A B ... alternating so drift and
cache warm-up hit both sides alike) or :func:`paired_processes` (whole processes, alternating), reported as the
median with the range over the rounds; one unpaired measurement per side moved 2-4x between runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

ROUNDS = 7  # alternating rounds per comparison: enough for a median and a range on a 2-core machine


def best_time(fn: Callable[[], Any], repeat: int = 3, number: int = 1) -> float:
    """Best wall time of ``repeat`` runs of ``number`` calls, per call [s] (an absolute figure, not a ratio)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


@dataclass(frozen=True)
class Paired:
    """Per-call times of two contenders measured alternately, and the ratio b / a round by round."""

    a_s: list[float]
    b_s: list[float]

    @property
    def ratios(self) -> list[float]:
        return [b / a for a, b in zip(self.a_s, self.b_s, strict=True)]

    def text(self, a: str, b: str) -> str:
        r = self.ratios
        return (
            f"{a} {statistics.median(self.a_s) * 1e3:.2f} ms, {b} {statistics.median(self.b_s) * 1e3:.2f} ms (medians "
            f"of {len(r)} alternating rounds); {b} / {a} = {statistics.median(r):.2f}x "
            f"(range {min(r):.2f}-{max(r):.2f}) on {os.cpu_count()} cores"
        )


def paired(a: Callable[[], Any], b: Callable[[], Any], rounds: int = ROUNDS, number: int = 1) -> Paired:
    """Time ``a`` and ``b`` alternately (a b a b ...), ``number`` calls each per round, after one warm-up call."""
    a()
    b()
    ta, tb = [], []
    for _ in range(rounds):
        for fn, out in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            out.append((time.perf_counter() - t0) / number)
    return Paired(ta, tb)


def process_time(cmd: Sequence[str]) -> float:
    """Wall time of one whole process [s] (start-up and imports included)."""
    t0 = time.perf_counter()
    subprocess.run(list(cmd), check=True, capture_output=True)
    return time.perf_counter() - t0


def paired_processes(a: Sequence[str], b: Sequence[str], rounds: int = ROUNDS) -> Paired:
    """Whole-process wall times of two commands, alternating, after one warm-up run of each (file cache)."""
    return paired(lambda: process_time(a), lambda: process_time(b), rounds=rounds)


def python() -> str:
    return sys.executable
