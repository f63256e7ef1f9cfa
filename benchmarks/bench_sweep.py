"""Sweeps: draws per second of ``fab2token sweep`` on the local executor and on a 2-process dask LocalCluster, and
the engine's rate in draw x site x month per second, beside issue 13's goal (10 M draw.site.months/s, 50x a loop of
single runs: not met while the engine runs once per draw; printed, not asserted).

Each side is one sweep of ``examples/uncertain.yaml`` into a fresh store (the dask side includes starting its
cluster, as a user's command does); the ratio is their wall times measured back to back, ``ROUNDS_SWEEP`` times
alternating.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRAWS = 200
ROUNDS_SWEEP = 3


def _sweep(workers: int | None) -> float:
    from fab2token.sweep.execute import run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_sweep(ROOT / "examples" / "uncertain.yaml", Path(tmp) / "s.duckdb", draws=DRAWS, seed=0, workers=workers)
        return time.perf_counter() - t0


def main() -> None:
    from fab2token.scenario import load_scenario

    sc, _ = load_scenario(ROOT / "examples" / "uncertain.yaml")
    cells = len(sc.sites) * sc.horizon.months
    local, dask = [], []
    for _ in range(ROUNDS_SWEEP):
        local.append(_sweep(None))
        dask.append(_sweep(2))
    lo, da = statistics.median(local), statistics.median(dask)
    print(f"sweep of examples/uncertain.yaml: {DRAWS} draws x {len(sc.sites)} sites x {sc.horizon.months} months")
    print(
        f"  local executor:        {lo:6.2f} s  {DRAWS / lo:6.1f} draws/s  {DRAWS * cells / lo:,.0f} draw.site.months/s"
    )
    print(
        f"  dask, 2 processes:     {da:6.2f} s  {DRAWS / da:6.1f} draws/s  (dask / local {da / lo:.2f}, cluster start included)"
    )
    print("  goal (issue 13): 10,000,000 draw.site.months/s, the engine vectorised over draws: not met yet")
