"""Invariants of the supply models, checked with hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fab2token.supply import dies as supply
from fab2token.supply.chain import assemble

sizes = st.floats(min_value=3.0, max_value=33.0)


@settings(max_examples=150, deadline=None)
@given(w=sizes, h=sizes, grow=st.floats(min_value=1.0, max_value=1.5))
def test_dies_per_wafer_never_increases_with_die_size(w, h, grow):
    assert supply.gross_dies_per_wafer(w * grow, h * grow) <= supply.gross_dies_per_wafer(w, h)


@settings(max_examples=150, deadline=None)
@given(w=sizes, h=sizes, s1=st.floats(0.0, 0.5), extra=st.floats(0.0, 0.5))
def test_dies_per_wafer_never_increases_with_scribe_width(w, h, s1, extra):
    assert supply.gross_dies_per_wafer(w, h, scribe_mm=s1 + extra) <= supply.gross_dies_per_wafer(w, h, scribe_mm=s1)


@settings(max_examples=200, deadline=None)
@given(
    area=st.floats(1.0, 858.0),
    d0=st.floats(0.0, 2.0),
    extra=st.floats(0.0, 2.0),
    model=st.sampled_from(supply.YIELD_MODELS),
)
def test_yield_in_unit_interval_and_non_increasing_in_d0(area, d0, extra, model):
    y1 = float(supply.die_yield(area, d0, model))
    y2 = float(supply.die_yield(area, d0 + extra, model))
    assert 0.0 <= y2 <= y1 <= 1.0


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), months=st.integers(1, 48))
def test_output_never_exceeds_any_step(seed, months):
    rng = np.random.default_rng(seed)
    dies, pkg, hbm = (rng.uniform(0, 100, months) * rng.integers(0, 2, months) for _ in range(3))
    got, _ = assemble(dies, pkg, hbm)
    assert np.all(got >= -1e-9)
    assert np.all(got <= pkg + 1e-9)  # packaging capacity is per month
    assert np.all(np.cumsum(got) <= np.cumsum(dies) + 1e-9)  # dies and HBM can be stored, not created
    assert np.all(np.cumsum(got) <= np.cumsum(hbm) + 1e-9)
