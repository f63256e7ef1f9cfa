"""The repair queue with crews and spares against its closed forms: M/M/c (Erlang C) for the domains in repair and
the share that waits, the machine-repair model with hot spares for the domains out of service, Little's law on the
simulated queue, and hand-placed failures whose queue can be worked out on paper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fab2token.operations.failures import _beyond_spares, draw_failures, repair_queue
from fab2token.scenario.operations import Operations

HOURS, INSTALLED, RATE, DOMAIN, REPAIR = 40_000, 10_000.0, 1e-4, 8, 24.0  # one failure an hour, a = 24 in repair


def _erlang_c(c: int, a: float) -> tuple[float, float]:
    """(probability a failure waits, mean number waiting) of an M/M/c queue with offered load ``a`` (Erlang C)."""
    head = sum(a**k / math.factorial(k) for k in range(c))
    tail = a**c / math.factorial(c) * c / (c - a)
    wait = tail / (head + tail)
    return wait, wait * a / (c - a)


def _batch_se(x: np.ndarray, batches: int = 10) -> float:
    """Standard error of the mean of a correlated series by batch means (batches of 3,950 hours, > 100 mean
    repair times each, so their means are close to independent)."""
    means = x[: x.size // batches * batches].reshape(batches, -1).mean(axis=1)
    return float(means.std(ddof=1) / math.sqrt(batches))


def _failures(seed: int = 0, **queue) -> object:
    return draw_failures(np.full((HOURS, 1), INSTALLED), RATE, DOMAIN, REPAIR, np.random.default_rng(seed), **queue)


def test_with_crews_the_queue_is_m_m_c():
    """28 crews for an offered load of 24 (utilisation 0.86): the time-average in the queue (waiting or in repair)
    is a + Lq and the share of failures that wait is Erlang C, each within 4 batch-means standard errors; the mean
    wait is Lq / lambda (Little's law on the waiting line) within 15 % (waits are rare and long-tailed)."""
    f = _failures(crews=28)
    wait, lq = _erlang_c(28, INSTALLED * RATE * REPAIR)
    n = f.in_repair_domains[500:, 0]  # after the empty start
    assert abs(n.mean() - (24.0 + lq)) < 4 * _batch_se(n)
    waited = (f.wait_hours > 0).astype(float)
    assert abs(waited.mean() - wait) < 4 * _batch_se(waited)
    assert f.wait_hours.mean() == pytest.approx(lq / (INSTALLED * RATE), rel=0.15)


def test_crews_never_work_two_repairs_at_once():
    """At every repair's start, the repairs under way (begun, not finished) number fewer than the crews."""
    rng = np.random.default_rng(3)
    arrival = np.sort(rng.random(2_000) * 500.0)
    repair = rng.exponential(5.0, arrival.size)
    begin = repair_queue(arrival, repair, np.zeros(arrival.size, dtype=np.int64), 1, 3)
    end = begin + repair
    busy = ((begin[None, :] <= begin[:, None]) & (end[None, :] > begin[:, None])).sum(axis=1)
    assert busy.max() <= 3
    assert np.all(begin >= arrival - 1e-12)
    # first come, first served: repairs begin in order of failure
    assert np.all(np.diff(begin) >= -1e-12)


def test_a_hand_placed_queue():
    """One crew; failures at 0.0 (2 h of work), 0.5 (1 h) and 5.0 (1 h) at site 0, one at 0.25 (3 h) at site 1 with
    its own crew: site 0's begin at 0, 2 (it waits 1.5 h) and 5; site 1's at once."""
    arrival = np.array([0.0, 0.5, 5.0, 0.25])
    repair = np.array([2.0, 1.0, 1.0, 3.0])
    site = np.array([0, 0, 0, 1])
    assert repair_queue(arrival, repair, site, 2, 1) == pytest.approx([0.0, 2.0, 5.0, 0.25])
    # two spares at site 0 for three failures never exceed: no domain out; with one spare, one out from 0.5 to 2
    end = repair_queue(arrival, repair, site, 2, 1) + repair
    assert _beyond_spares(arrival, end, site, 6, 2, 2).sum() == pytest.approx(0.0)
    one = _beyond_spares(arrival, end, site, 6, 2, 1)[:, 0]
    assert one == pytest.approx([0.5, 1.0, 0.0, 0.0, 0.0, 0.0])


def test_spares_cover_failures_as_the_machine_repair_model_says():
    """24 hot spares for a Poisson(24) number in repair (no crew limit): the domains out of service average
    E[max(0, N - 24)] = 1.95 (N ~ Poisson(24)), within 4 batch-means standard errors; without spares they average
    the whole queue."""
    f = _failures(spares=24)
    out = f.down_accelerators[500:, 0] / DOMAIN
    a = INSTALLED * RATE * REPAIR
    pmf = np.exp(-a + np.arange(200) * math.log(a) - np.array([math.lgamma(k + 1) for k in range(200)]))
    expected = float((np.maximum(np.arange(200) - 24, 0) * pmf).sum())
    assert abs(out.mean() - expected) < 4 * _batch_se(out)
    # Little's law on the whole queue, which holds exactly over a horizon for the time in it within the horizon:
    # time-average in the queue = arrival rate x mean time in the queue
    in_horizon = np.minimum(f.arrival + f.wait_hours + f.repair_hours, HOURS) - f.arrival
    assert f.in_repair_domains[:, 0].mean() == pytest.approx(f.count.sum() / HOURS * in_horizon.mean(), rel=1e-9)


def test_queue_fields_are_checked():
    base = {"repair_hours": 24}
    with pytest.raises(ValueError, match="repair_crews"):
        Operations.model_validate(base | {"repair_crews": 0})
    with pytest.raises(ValueError, match="spare_domains"):
        Operations.model_validate(base | {"spare_domains": -1})
    assert Operations.model_validate(base).repair_crews is None
