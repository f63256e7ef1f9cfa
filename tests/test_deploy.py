"""Deployment into sites (one accelerator type): hand-checkable cases and a month-by-month reference loop for
:func:`fab2token.deploy.placement.place_fleet`."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fab2token.deploy.placement import all_in_it_kw, place_fleet


def deploy_one_type(delivered, capacity):
    """place_fleet for one type of 1 kW: (powered (month, site), paid for and not powered (month,))."""
    p = place_fleet(np.asarray([delivered], dtype=float), np.asarray(capacity, dtype=float), np.array([1.0]))
    return p.powered[0], p.waiting[0] + (p.housed[0] - p.powered[0]).sum(axis=1)


def test_installs_up_to_capacity():
    delivered = np.array([10.0, 10.0, 10.0, 0.0])
    capacity = np.array([[0.0, 0.0], [15.0, 0.0], [15.0, 20.0], [15.0, 20.0]])
    installed, backlog = deploy_one_type(delivered, capacity)
    np.testing.assert_allclose(installed.sum(axis=1), [0, 15, 30, 30])
    np.testing.assert_allclose(installed[:, 0], [0, 15, 15, 15])
    np.testing.assert_allclose(backlog, [10, 5, 0, 0])


def test_never_installs_more_than_delivered_or_capacity():
    rng = np.random.default_rng(1)
    delivered = rng.integers(0, 100, size=24).astype(float)
    capacity = np.cumsum(rng.integers(0, 60, size=(24, 3)), axis=0).astype(float)
    installed, backlog = deploy_one_type(delivered, capacity)
    assert np.all(installed <= capacity + 1e-9)
    assert np.all(installed.sum(-1) <= np.cumsum(delivered) + 1e-9)
    np.testing.assert_allclose(installed.sum(-1) + backlog, np.cumsum(delivered))


def test_all_in_power_uses_server_power_when_known():
    # DGX H100: 10.2 kW / 8 GPUs, plus 8.9 % network and storage
    assert float(all_in_it_kw(700, 1275)) == pytest.approx(1.275 * 1.089)
    # unknown server power: board power x server overhead factor
    assert float(all_in_it_kw(1000, float("nan"))) == pytest.approx(1.0 * 1.821 * 1.089)
    assert float(all_in_it_kw(1000, float("nan"), 2.0, 0.0)) == pytest.approx(2.0)


def deploy_loop(delivered, capacity):
    """Reference, written as the policy reads: month by month, waiting accelerators go to the sites in order, each
    taking what it can power that month beyond what it already houses; nothing moves; powered = min(housed,
    capacity)."""
    months, sites = capacity.shape
    housed = np.zeros(sites)
    waiting = 0.0
    installed = np.zeros((months, sites))
    for t in range(months):
        waiting += delivered[t]
        for s in range(sites):
            put = min(waiting, max(capacity[t, s] - housed[s], 0.0))
            housed[s] += put
            waiting -= put
        installed[t] = np.minimum(housed, capacity[t])
    return installed


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda sites: st.tuples(
            st.lists(st.integers(0, 50), min_size=6, max_size=6),
            st.lists(st.lists(st.integers(0, 60), min_size=sites, max_size=sites), min_size=6, max_size=6),
        )
    )
)
def test_placement_matches_a_month_by_month_loop(case):
    delivered, capacity = np.array(case[0], dtype=float), np.array(case[1], dtype=float)  # capacities may shrink
    installed, backlog = deploy_one_type(delivered, capacity)
    np.testing.assert_allclose(installed, deploy_loop(delivered, capacity), atol=1e-6)
    np.testing.assert_allclose(installed.sum(-1) + backlog, np.cumsum(delivered), atol=1e-6)


def test_accelerators_do_not_move_when_an_earlier_site_gains_power():
    delivered = np.array([30.0, 0.0, 0.0])
    # site a has room for 10 at first, 40 later; site b takes the overflow and keeps it
    capacity = np.array([[10.0, 50.0], [40.0, 50.0], [40.0, 50.0]])
    installed, backlog = deploy_one_type(delivered, capacity)
    np.testing.assert_allclose(installed, [[10, 20], [10, 20], [10, 20]])
    np.testing.assert_allclose(backlog, [0, 0, 0])


def test_a_hot_month_idles_accelerators_in_place():
    delivered = np.array([20.0, 0.0, 0.0])
    capacity = np.array([[20.0, 30.0], [15.0, 30.0], [20.0, 30.0]])  # site a loses 5 in the hot month
    installed, backlog = deploy_one_type(delivered, capacity)
    np.testing.assert_allclose(installed, [[20, 0], [15, 0], [20, 0]])
    np.testing.assert_allclose(backlog, [0, 5, 0])


def deploy_loop_with_schedule(delivered, capacity, cap):
    """Reference for a deployment schedule, as it reads: month by month, each site first returns what exceeds its
    schedule to the waiting stock, then the waiting accelerators go to the sites in order, each taking what it can
    power beyond what it houses and no more than its schedule allows; powered = min(housed, capacity)."""
    months, sites = capacity.shape
    housed = np.zeros(sites)
    waiting = 0.0
    out = np.zeros((months, sites))
    for t in range(months):
        waiting += delivered[t]
        for s in range(sites):
            back = max(housed[s] - cap[t, s], 0.0)
            housed[s] -= back
            waiting += back
        for s in range(sites):
            put = min(waiting, max(capacity[t, s] - housed[s], 0.0), max(cap[t, s] - housed[s], 0.0))
            housed[s] += put
            waiting -= put
        out[t] = housed
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 3).flatmap(
        lambda sites: st.tuples(
            st.lists(st.integers(0, 50), min_size=6, max_size=6),
            st.lists(st.lists(st.integers(0, 60), min_size=sites, max_size=sites), min_size=6, max_size=6),
            st.lists(st.lists(st.integers(0, 60), min_size=sites, max_size=sites), min_size=6, max_size=6),
        )
    )
)
def test_a_deployment_schedule_caps_each_site_like_a_month_by_month_loop(case):
    delivered, capacity, cap = (np.array(x, dtype=float) for x in case)
    p = place_fleet(delivered[None, :], capacity, np.array([1.0]), cap=cap[None, :, :])
    np.testing.assert_allclose(p.housed[0], deploy_loop_with_schedule(delivered, capacity, cap), atol=1e-6)
    assert np.all(p.housed[0] <= cap + 1e-9)
    np.testing.assert_allclose(p.housed[0].sum(-1) + p.waiting[0], np.cumsum(delivered), atol=1e-6)
