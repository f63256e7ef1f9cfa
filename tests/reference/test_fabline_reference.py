"""The fab line simulator against published SMT2020 HV/LM results under FIFO.

Source: Kovács, Tassel, Kolbe and Dafoe (WSC 2022), as reproduced in later work and in shared/data/README.md:
HV/LM, FIFO, 730 days — mean cycle time Lot_3 ≈ 68 days and Lot_4 ≈ 39 days; ≈ 19,600 Lot_3 and ≈ 19,960 Lot_4
lots completed; HotLot_4 ≈ 18–19.5 days. Tolerances from the issue: ±5 % on cycle time, ±2 % on lots completed.

The full 730-day run takes ~70 s per seed here, so it is marked ``slow`` (``pytest -m slow``) and left out of CI's
``make test``; a 90-day run (hot lots released early complete within it) runs in CI. Lots completed include the
initial WIP under its product and priority class — the published counts must, since 19,600 of 20,337 Lot_3
releases would otherwise leave only ~26 days of work in process against a 68-day cycle time.
"""

from __future__ import annotations

import pytest

from fab2token.supply.fabline import load_fab, simulate_fab
from tests.conftest import SHARED

HVLM = SHARED / "data" / "smt2020" / "HVLM"
pytestmark = pytest.mark.skipif(not HVLM.exists(), reason="shared SMT2020 data not present")


def test_hot_lot_cycle_time_within_published_range_90_days():
    s = simulate_fab(load_fab(HVLM), days=90, dispatch="fifo", seed=1).summary()
    assert 18.0 * 0.95 <= s["cycle_time_days_mean"]["HotLot_4"] <= 19.5 * 1.05


@pytest.mark.slow
def test_hvlm_fifo_730_days_matches_published_results():
    s = simulate_fab(load_fab(HVLM), days=730, dispatch="fifo", seed=1).summary()
    ct, done = s["cycle_time_days_mean"], s["lots_completed"]
    assert ct["Lot_3"] == pytest.approx(68, rel=0.05)
    assert ct["Lot_4"] == pytest.approx(39, rel=0.05)
    assert done["Lot_3"] == pytest.approx(19_600, rel=0.02)
    assert done["Lot_4"] == pytest.approx(19_960, rel=0.02)
    assert 18.0 * 0.95 <= ct["HotLot_4"] <= 19.5 * 1.05


@pytest.mark.slow
def test_hvlm_fifo_730_days_five_seed_mean_matches_published_results():
    """The published figures are means; single seeds spread (measured here, seeds 1-5: Lot_3 mean cycle time
    63.5-66.8 d, Lot_4 37.0-39.5 d — seed 5 alone is 6.6 % and 5.2 % short). The five-seed mean is the fair
    comparison: Lot_3 65.4 d (-3.8 %), Lot_4 38.5 d (-1.3 %), lots completed +1.3 % and +0.6 %."""
    model = load_fab(HVLM)
    runs = [simulate_fab(model, days=730, dispatch="fifo", seed=s).summary() for s in range(1, 6)]

    def mean(key: str, order: str) -> float:
        return sum(r[key][order] for r in runs) / len(runs)

    assert mean("cycle_time_days_mean", "Lot_3") == pytest.approx(68, rel=0.05)
    assert mean("cycle_time_days_mean", "Lot_4") == pytest.approx(39, rel=0.05)
    assert mean("lots_completed", "Lot_3") == pytest.approx(19_600, rel=0.02)
    assert mean("lots_completed", "Lot_4") == pytest.approx(19_960, rel=0.02)
