"""Fab line speed on the SMT2020 HV/LM testbed (a headline figure).

Goal (issue 6): 730 simulated days in under 60 s of wall time on one core. Published simulators take minutes per
simulated year on this testbed. Printed: events processed, events/s, simulated days per wall second, and the
730-day projection from the measured rate. Set FABLINE_DAYS to change the horizon (default 60).
"""

from __future__ import annotations

import os
from pathlib import Path

from fab2token.fabline import load_fab, simulate_fab

HVLM = Path(__file__).resolve().parents[2] / "shared" / "data" / "smt2020" / "HVLM"


def main() -> None:
    if not HVLM.exists():
        print(f"{HVLM} not found: fabline benchmark skipped")
        return
    days = float(os.environ.get("FABLINE_DAYS", "60"))
    model = load_fab(HVLM)
    res = simulate_fab(model, days=days, dispatch="fifo", seed=1)
    rate = res.events_processed / res.wall_s
    print(
        f"HV/LM, {days:g} days, FIFO: {res.events_processed:,} events in {res.wall_s:.1f} s = {rate:,.0f} events/s, "
        f"{days / res.wall_s:.1f} simulated days per wall second; 730 days projected at "
        f"{730 / (days / res.wall_s):.0f} s (goal: 60 s)"
    )
