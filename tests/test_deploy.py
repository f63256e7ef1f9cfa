"""Deployment into sites: hand-checkable cases."""

from __future__ import annotations

import numpy as np
import pytest

from fab2token.deploy import all_in_it_kw, deploy


def test_installs_up_to_capacity_and_names_binding():
    delivered = np.array([10.0, 10.0, 10.0, 0.0])
    capacity = np.array([[0.0, 0.0], [15.0, 0.0], [15.0, 20.0], [15.0, 20.0]])
    installed, backlog, binding = deploy(delivered, capacity)
    np.testing.assert_allclose(installed.sum(axis=1), [0, 15, 30, 30])
    np.testing.assert_allclose(installed[:, 0], [0, 15, 15, 15])
    np.testing.assert_allclose(backlog, [10, 5, 0, 0])
    assert list(binding) == ["power", "power", "supply", "supply"]


def test_never_installs_more_than_delivered_or_capacity():
    rng = np.random.default_rng(1)
    delivered = rng.uniform(0, 100, size=(50, 24))
    capacity = np.cumsum(rng.uniform(0, 60, size=(50, 24, 3)), axis=1)
    installed, backlog, _ = deploy(delivered, capacity)
    assert np.all(installed <= capacity + 1e-9)
    assert np.all(installed.sum(-1) <= np.cumsum(delivered, -1) + 1e-9)
    np.testing.assert_allclose(installed.sum(-1) + backlog, np.cumsum(delivered, -1))


def test_all_in_power_uses_server_power_when_known():
    # DGX H100: 10.2 kW / 8 GPUs, plus 8.9 % network and storage
    assert float(all_in_it_kw(700, 1275)) == pytest.approx(1.275 * 1.089)
    # unknown server power: board power x server overhead factor
    assert float(all_in_it_kw(1000, float("nan"))) == pytest.approx(1.0 * 1.821 * 1.089)
    assert float(all_in_it_kw(1000, float("nan"), 2.0, 0.0)) == pytest.approx(2.0)
