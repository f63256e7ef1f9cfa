"""Supply chain for 10,000 Monte Carlo draws x 120 months in one vectorised call, vs a per-month Python loop.

Goal (issue 3): well under a second on 2 cores. Printed: draws x months per second, and the speed ratio against
the same model written as a plain loop over draws and months (timed on a subset and scaled).
"""

from __future__ import annotations

import math
import time

import numpy as np

from benchmarks.common import best_time
from fab2token.supply import dies as supply
from fab2token.supply.chain import SupplyInputs, chain

DRAWS, MONTHS = 10_000, 120


def _inputs(rng: np.random.Generator, draws: int) -> SupplyInputs:
    t = np.arange(MONTHS)
    d0_mature = rng.uniform(0.06, 0.14, (draws, 1))
    d0_launch = rng.uniform(0.2, 0.5, (draws, 1))
    tau = rng.uniform(3, 12, (draws, 1))
    d0 = supply.d0_learning_curve(t, d0_mature, d0_launch, tau)
    starts = rng.uniform(5_000, 20_000, (draws, 1)) * np.minimum(1.0, (t + 1) / rng.uniform(6, 24, (draws, 1)))
    pkg = rng.uniform(2_000, 8_000, (draws, 1)) * np.ones(MONTHS)
    hbm = rng.uniform(0.5e6, 2e6, (draws, 1)) * np.ones(MONTHS)
    return SupplyInputs(
        accelerator="H100-SXM",
        die_area_mm2=814.0,
        compute_dies=1.0,
        wafer_starts=starts,
        d0_per_cm2=d0,
        yield_model="murphy",
        wafer_price_usd=17_000.0,
        packaging_wafers=pkg,
        interposer_area_mm2=2_000.0,
        packaging_yield_frac=rng.uniform(0.9, 0.99, (draws, 1)),
        hbm_stacks=hbm,
        stacks_per_accelerator=5.0,
        stack_yield_frac=0.95,
    )


def _loop(inp: SupplyInputs, draws: int) -> np.ndarray:
    """The same model, one draw and one month at a time (the baseline)."""
    w, h = supply.die_dimensions_mm(inp.die_area_mm2)
    gross = int(supply.gross_dies_per_wafer(w, h))
    iw, ih = supply.die_dimensions_mm(inp.interposer_area_mm2)
    per_pkg_wafer = int(supply.gross_dies_per_wafer(iw, ih))
    out = np.zeros((draws, MONTHS))
    for i in range(draws):
        bank_d = bank_h = 0.0
        py = float(inp.packaging_yield_frac[i, 0])
        for t in range(MONTHS):
            ad = inp.die_area_mm2 / 100 * inp.d0_per_cm2[i, t]
            y = ((1 - math.exp(-ad)) / ad) ** 2
            bank_d += inp.wafer_starts[i, t] * gross * y
            bank_h += inp.hbm_stacks[i, t] * inp.stack_yield_frac / inp.stacks_per_accelerator
            a = min(inp.packaging_wafers[i, t] * per_pkg_wafer, bank_d, bank_h)
            bank_d -= a
            bank_h -= a
            out[i, t] = a * py
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    inp = _inputs(rng, DRAWS)
    res = chain(inp)
    t_vec = best_time(lambda: chain(inp), repeat=3)
    cells = DRAWS * MONTHS
    print(
        f"vectorised: {DRAWS:,} draws x {MONTHS} months = {cells:,} draw-months in {t_vec * 1e3:.0f} ms "
        f"({cells / t_vec:,.0f} draw-months/s)"
    )
    sub = 200
    t0 = time.perf_counter()
    loop = _loop(inp, sub)
    t_loop = (time.perf_counter() - t0) * DRAWS / sub
    err = np.max(np.abs(loop - res["accelerators_delivered"][:sub]) / np.maximum(loop, 1.0))
    print(
        f"per-month Python loop: {t_loop:.1f} s for the same size (timed on {sub} draws and scaled); "
        f"speed ratio {t_loop / t_vec:,.0f}x; max relative difference {err:.1e}"
    )
    p50 = np.percentile(res["accelerators_delivered"].sum(axis=-1), [10, 50, 90])
    print(f"accelerators over {MONTHS} months, P10/P50/P90: {p50[0]:,.0f} / {p50[1]:,.0f} / {p50[2]:,.0f}")

    areas = rng.uniform(600, 850, DRAWS)
    t_dpw = best_time(lambda: supply.gross_dies_per_wafer(*supply.die_dimensions_mm(areas)), repeat=1)
    print(f"exact gross dies per wafer for {DRAWS:,} different die areas: {t_dpw * 1e3:.0f} ms")
