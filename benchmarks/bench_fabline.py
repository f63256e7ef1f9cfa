"""Fab line speed on the SMT2020 HV/LM testbed (a headline figure).

Goal (issue 6): 730 simulated days in under 60 s of wall time on one core. Published simulators take minutes per
simulated year on this testbed. Printed: events processed, events/s, simulated days per wall second, and the
730-day projection from the measured rate. Set FABLINE_DAYS to change the horizon (default 60).
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.common import paired
from fab2token.supply.fabline import load_fab, simulate_fab
from fab2token.supply.fabline.engine import compiled_kernel

HVLM = Path(__file__).resolve().parents[2] / "shared" / "data" / "smt2020" / "HVLM"


def main() -> None:
    if not HVLM.exists():
        print(f"{HVLM} not found: fabline benchmark skipped")
        return
    days = float(os.environ.get("FABLINE_DAYS", "60"))
    model = load_fab(HVLM)
    kernels = [("compiled (Cython)", True), ("plain Python", False)] if compiled_kernel() else [("plain Python", False)]
    if len(kernels) == 1:
        print("compiled kernel not built (`python -m fab2token.supply.fabline.build`): plain Python only")
    walls = {}
    for name, compiled in kernels:
        res = simulate_fab(model, days=days, dispatch="fifo", seed=1, compiled=compiled)
        rate = res.events_processed / res.wall_s
        walls[name] = res.wall_s
        print(
            f"HV/LM, {days:g} days, FIFO, {name}: {res.events_processed:,} events in {res.wall_s:.1f} s = "
            f"{rate:,.0f} events/s, {days / res.wall_s:.1f} simulated days per wall second; 730 days projected at "
            f"{730 / (days / res.wall_s):.0f} s (goal: 60 s)"
        )
    if len(walls) == 2:  # the ratio side by side: alternating short runs
        short = min(days, 5.0)
        p = paired(
            lambda: simulate_fab(model, days=short, dispatch="fifo", seed=1, compiled=False),
            lambda: simulate_fab(model, days=short, dispatch="fifo", seed=1, compiled=True),
            rounds=3,
        )
        print(f"{short:g} days: {p.text('plain Python', 'compiled')}")
