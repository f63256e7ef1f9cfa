"""Sweeps: draws per second of ``fab2token sweep`` on the local executor and on a 2-process dask LocalCluster, and
the engine's rate in draw x site x month per second, beside issue 13's goal (10 M draw.site.months/s, 50x a loop of
single runs: not met while the engine runs once per draw; printed, not asserted).

Each side is one sweep of ``examples/uncertain.yaml`` into a fresh store (the dask side includes starting its
cluster, as a user's command does); the ratio is their wall times measured back to back, ``ROUNDS_SWEEP`` times
alternating.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
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
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from benchmarks.bench_sweep import store_and_statistics as f; import json; print(json.dumps(f()))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if out.returncode == 0:
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"  100,000 draws x 24 months stored in {r['store_s']:.1f} s ({r['db_mb']:.0f} MB), summarised in "
            f"{r['summary_s']:.1f} s; peak RSS {r['peak_mb']:.0f} MB (goal: within 4 GiB)"
        )
    else:
        print("  100,000-draw store: " + (out.stderr.strip().splitlines() or ["failed"])[-1])


def store_and_statistics(draws: int = 100_000, months: int = 24, chunk: int = 10_000) -> dict[str, float]:
    """The store and the statistics of a sweep of ``draws`` draws (series of the uncertain example's size, values
    made up: the engine's memory is bounded by its chunk, this is what grows with the draw count); peak RSS."""
    import numpy as np

    from benchmarks.bench_scale import _peak_mb
    from fab2token.io import sweep_store
    from fab2token.sweep.outcomes import OUTCOMES, SERIES, ChunkResult
    from fab2token.sweep.summary import summarise_sweep

    rng = np.random.default_rng(0)
    text = (ROOT / "examples" / "uncertain.yaml").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "big.duckdb"
        meta = {
            "scenario_name": "synthetic",
            "scenario_file": str(ROOT / "examples" / "uncertain.yaml"),
            "scenario_text": text,
            "draws": draws,
            "seed": 0,
            "chunk_draws": chunk,
            "method": "random",
            "inputs": ["supply.fab.d0_launch_per_cm2"],
            "months": [f"2026-{m % 12 + 1:02d}" for m in range(months)],
        }
        sid = sweep_store.create_sweep(db, meta)
        t0 = time.perf_counter()
        for c, first in enumerate(range(0, draws, chunk)):
            res = ChunkResult(
                first,
                {k: rng.random((chunk, months)) for k in SERIES},
                {k: rng.random(chunk) for k in OUTCOMES},
                rng.choice(np.array(["supply", "power"]), (chunk, months)),
                {k: "" for k in (*SERIES, *OUTCOMES)},
            )
            sweep_store.save_chunk(db, sid, c, {"supply.fab.d0_launch_per_cm2": rng.random(chunk)}, res)
        stored = time.perf_counter() - t0
        t0 = time.perf_counter()
        summarise_sweep(db, sid)
        return {
            "store_s": stored,
            "summary_s": time.perf_counter() - t0,
            "peak_mb": _peak_mb(),
            "db_mb": db.stat().st_size / 2**20,
        }
