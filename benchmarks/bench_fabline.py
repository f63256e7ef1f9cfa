"""Fab line speed on the SMT2020 HV/LM testbed (a headline figure).

Goal (issue 20): 730 simulated days of HV/LM under FIFO in under 10 s on one core (the C++ event loop); published
simulators take minutes per simulated year on this testbed (PySCFabSim on PyPy: 727 s for the same work, measured
here earlier). Printed: both loops' events, events/s and simulated days per wall second on the same horizon
(FABLINE_DAYS, default 60), their ratio side by side, and the C++ loop's full 730 days.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.common import paired
from fab2token.supply.fabline import FablineResult, load_fab, simulate_fab
from fab2token.supply.fabline.engine import compiled_kernel

HVLM = Path(__file__).resolve().parents[2] / "shared" / "data" / "smt2020" / "HVLM"


def _line(name: str, days: float, res: FablineResult) -> str:
    rate = res.events_processed / res.wall_s
    return (
        f"HV/LM, {days:g} days, FIFO, {name}: {res.events_processed:,} events in {res.wall_s:.2f} s = "
        f"{rate:,.0f} events/s, {days / res.wall_s:.1f} simulated days per wall second"
    )


def main() -> None:
    if not HVLM.exists():
        print(f"{HVLM} not found: fabline benchmark skipped")
        return
    days = float(os.environ.get("FABLINE_DAYS", "60"))
    model = load_fab(HVLM)
    fast = compiled_kernel() is not None
    if not fast:
        print("C++ event loop not built (`python -m fab2token.supply.fabline.build`): plain Python only")
    plain = simulate_fab(model, days=days, dispatch="fifo", seed=1, compiled=False)
    print(_line("plain Python", days, plain) + f"; 730 days projected at {730 * plain.wall_s / days:.0f} s")
    if not fast:
        return
    cpp = simulate_fab(model, days=days, dispatch="fifo", seed=1, compiled=True)
    print(_line("C++", days, cpp) + f"; {'same' if cpp.completed == plain.completed else 'DIFFERENT'} lots")
    full = simulate_fab(model, days=730, dispatch="fifo", seed=1, compiled=True)
    print(_line("C++", 730, full) + " (goal: under 10 s)")
    short = min(days, 10.0)  # the ratio side by side: alternating short runs
    p = paired(
        lambda: simulate_fab(model, days=short, dispatch="fifo", seed=1, compiled=False),
        lambda: simulate_fab(model, days=short, dispatch="fifo", seed=1, compiled=True),
        rounds=3,
    )
    print(f"{short:g} days: {p.text('plain Python', 'C++')}")
