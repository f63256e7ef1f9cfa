"""Dies per wafer and yield: scalars, lists and arrays alike."""

from __future__ import annotations

import numpy as np
import pytest

from fab2token.errors import ModelError
from fab2token.supply import dies as supply


def _brute_force(w, h, diameter=300.0, edge=3.0, scribe=0.1, n=40):
    """Independent count: test all four corners of every grid cell, for an n x n sweep of offsets."""
    r = diameter / 2 - edge
    px, py = w + scribe, h + scribe
    best = 0
    for fx in np.arange(n) / n:
        for fy in np.arange(n) / n:
            xs = fx * px + np.arange(-int(r / px) - 2, int(r / px) + 3) * px
            ys = fy * py + np.arange(-int(r / py) - 2, int(r / py) + 3) * py
            xx, yy = np.meshgrid(xs, ys)
            ok = np.ones_like(xx, dtype=bool)
            for dx in (0.0, w):
                for dy in (0.0, h):
                    ok &= (xx + dx) ** 2 + (yy + dy) ** 2 <= r * r
            best = max(best, int(ok.sum()))
    return best


@pytest.mark.parametrize("w,h", [(28.53, 28.53), (26.0, 33.0), (7.0, 13.0), (20.0, 20.0)])
def test_exact_count_matches_brute_force(w, h):
    got = int(supply.gross_dies_per_wafer(w, h))
    # the vectorised search also tries die- and street-centred grids, so it may find more than a coarse sweep
    assert got >= _brute_force(w, h)
    assert got <= _brute_force(w, h) * 1.02 + 1


def test_scalar_list_and_array_agree():
    widths = [5.0, 10.0, 20.0, 26.0]
    as_list = supply.gross_dies_per_wafer(widths, widths)
    as_array = supply.gross_dies_per_wafer(np.array(widths), np.array(widths))
    scalars = [int(supply.gross_dies_per_wafer(w, w)) for w in widths]
    assert list(as_list) == scalars == list(as_array)


def test_200mm_wafer_holds_fewer_dies():
    assert supply.gross_dies_per_wafer(10, 10, 200) < supply.gross_dies_per_wafer(10, 10, 300)


def test_die_dimensions_respect_area_and_aspect():
    w, h = supply.die_dimensions_mm(800.0, 2.0)
    assert w * h == pytest.approx(800.0) and w / h == pytest.approx(2.0)


def test_nonpositive_die_is_an_error():
    with pytest.raises(ModelError):
        supply.gross_dies_per_wafer(0.0, 10.0)


def test_reticle_limit():
    supply.check_reticle(814.0)
    with pytest.raises(ModelError, match="reticle"):
        supply.check_reticle(900.0, name="big")


def test_yield_models_are_one_at_zero_defects_and_fall_with_d0():
    d0 = np.array([0.0, 0.05, 0.1, 0.2, 0.5])
    for model in supply.YIELD_MODELS:
        y = supply.die_yield(800.0, d0, model)
        assert y[0] == pytest.approx(1.0)
        assert np.all(np.diff(y) < 0)


def test_unknown_yield_model():
    with pytest.raises(ModelError, match="poisson"):
        supply.die_yield(100.0, 0.1, "gaussian")


def test_learning_curve_starts_at_launch_and_approaches_mature():
    d = supply.d0_learning_curve(np.array([-3.0, 0.0, 6.0, 120.0]), 0.1, 0.5, 6.0)
    assert d[0] == pytest.approx(0.5) and d[1] == pytest.approx(0.5)
    assert d[2] == pytest.approx(0.1 + 0.4 * np.exp(-1))
    assert d[3] == pytest.approx(0.1, abs=1e-6)
