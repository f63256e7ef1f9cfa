"""A fab line run feeds the supply chain (issue 20, item 5): through the Python API as through the ``fabline --json``
file, with its wafer-out capacity and the spread of its lots' cycle times over whole months, which the chain uses
as a distribution of lags from wafer start to wafer out."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from fab2token.scenario import load_scenario, parse_scenario
from fab2token.scenario.timeline import month_axis
from fab2token.supply.chain import DAYS_PER_MONTH, FablineSupply, inputs_from_scenario
from fab2token.supply.fabline.engine import FablineResult
from tests.conftest import EXAMPLES

DAY = 1440.0  # minutes


def _result() -> FablineResult:
    """200 days: 60 lots of order ``o`` with a 30-day cycle time (one month), 40 with 61 days (two months), and
    one lot of initial WIP (released at -1: no known start, so no cycle time)."""
    done = [("o", 0, k * DAY, k * DAY + 30 * DAY, k * DAY + 60 * DAY, 25) for k in range(60)]
    done += [("o", 0, k * DAY, k * DAY + 61 * DAY, k * DAY + 60 * DAY, 25) for k in range(40)]
    done.append(("o", 0, -1.0, 5 * DAY, 10 * DAY, 25))
    return FablineResult(200.0, "fifo", 0, done, [0], {}, {}, {}, 0, 0.0)


def test_a_run_gives_its_capacity_and_the_spread_of_its_cycle_times():
    res = _result()
    s = res.summary()
    assert s["cycle_time_months_share"] == {"o": [0.0, 0.6, 0.4]}
    sup = res.supply("o")
    mean_days = (60 * 30 + 40 * 61) / 100
    assert sup.cycle_months == round(mean_days / DAYS_PER_MONTH) == 1
    assert sup.capacity_wafers_per_month == pytest.approx(101 * 25 / 200 * DAYS_PER_MONTH, rel=1e-12)
    assert sup.lag_share == (0.0, 0.6, 0.4)
    with pytest.raises(Exception, match="order 'x'.*its orders: o"):
        res.supply("x")


def _scenario(**fab):
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["supply"]["fab"] = {
        "wafer_starts": [{"from": "2025-06", "wafers_per_month": 1000}, {"from": "2026-03", "wafers_per_month": 3000}],
        "d0_per_cm2": 0.1,
        **fab,
    }
    return parse_scenario(yaml.safe_dump(data))


def test_wafer_outs_are_the_earlier_starts_weighted_by_the_shares():
    sc = _scenario()
    axis = month_axis(sc.horizon.start, sc.horizon.months)
    spread = inputs_from_scenario(sc, axis, FablineSupply(1e9, 1, (0.0, 0.6, 0.4))).wafer_starts
    before = lambda k: np.where(axis - k >= axis[0] + 2, 3000.0, 1000.0)  # noqa: E731  the schedule k months back
    np.testing.assert_allclose(spread, 0.6 * before(1) + 0.4 * before(2), rtol=1e-12)
    assert spread[3] == pytest.approx(0.6 * 3000 + 0.4 * 1000)  # 2026-04: starts of March (3000), February (1000)
    # a one-point spread is the fixed lag, exactly; the capacity caps the starts
    one = inputs_from_scenario(sc, axis, FablineSupply(1e9, 2, (0.0, 0.0, 1.0)))
    fixed = inputs_from_scenario(sc, axis, FablineSupply(1e9, 2, None))
    np.testing.assert_array_equal(one.wafer_starts, fixed.wafer_starts)
    capped = inputs_from_scenario(sc, axis, FablineSupply(2000.0, 1, (0.0, 0.6, 0.4))).wafer_starts
    np.testing.assert_allclose(capped, 0.6 * np.minimum(before(1), 2000) + 0.4 * np.minimum(before(2), 2000))


def test_the_python_api_and_the_json_file_give_the_same_supply(tmp_path):
    res = _result()
    (tmp_path / "fl.json").write_text(json.dumps(res.summary()))
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["supply"]["fab"] = {"fabline_result": "fl.json", "fabline_order": "o", "d0_per_cm2": 0.1}
    (tmp_path / "sc.yaml").write_text(yaml.safe_dump(data))
    from_file, _ = load_scenario(tmp_path / "sc.yaml")
    axis = month_axis(from_file.horizon.start, from_file.horizon.months)
    by_file = inputs_from_scenario(from_file, axis)
    by_api = inputs_from_scenario(from_file, axis, res.supply("o"))  # the run's object in place of its file
    np.testing.assert_array_equal(by_file.wafer_starts, by_api.wafer_starts)
    assert by_file.cycle_months == by_api.cycle_months == 1
    # a steady fab line: every month after the longest lag puts out its capacity
    cap = res.supply("o").capacity_wafers_per_month
    np.testing.assert_allclose(by_file.wafer_starts, cap, rtol=1e-12)


@pytest.mark.parametrize(
    "share, why",
    [([0.5, 0.4], "sum to 1"), ([-0.2, 1.2], "non-negative"), ("all", "non-negative shares"), ([1.0] * 40, "up to 37")],
)
def test_a_bad_spread_in_the_file_is_named(tmp_path, share, why):
    from typer.testing import CliRunner

    from fab2token.cli.main import app

    out = _result().summary()
    out["cycle_time_months_share"] = {"o": share}
    (tmp_path / "fl.json").write_text(json.dumps(out))
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["supply"]["fab"] = {"fabline_result": "fl.json", "fabline_order": "o", "d0_per_cm2": 0.1}
    (tmp_path / "sc.yaml").write_text(yaml.safe_dump(data))
    res = CliRunner().invoke(app, ["validate", str(tmp_path / "sc.yaml")])
    assert res.exit_code == 2
    assert "supply.fab.fabline_result" in res.output and "cycle_time_months_share.o" in res.output
    assert why in res.output


def test_an_output_from_before_the_spread_keeps_the_fixed_lag(tmp_path):
    out = _result().summary()
    del out["cycle_time_months_share"]
    (tmp_path / "fl.json").write_text(json.dumps(out))
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["supply"]["fab"] = {"fabline_result": "fl.json", "fabline_order": "o", "d0_per_cm2": 0.1}
    (tmp_path / "sc.yaml").write_text(yaml.safe_dump(data))
    sc, _ = load_scenario(tmp_path / "sc.yaml")
    axis = month_axis(sc.horizon.start, sc.horizon.months)
    assert sc.supply.fab.fabline_share() is None
    inp = inputs_from_scenario(sc, axis)
    assert inp.cycle_months == 1
    np.testing.assert_allclose(inp.wafer_starts, _result().supply("o").capacity_wafers_per_month, rtol=1e-12)


def test_a_run_gives_its_monthly_wafer_outs_and_its_capacity_after_the_warm_up(tmp_path):
    res = _result()
    by_month = res.wafers_out_by_month()
    m = DAYS_PER_MONTH
    finish = np.array([k + 30 for k in range(60)] + [k + 61 for k in range(40)] + [5])  # days
    expected = [25 * int(np.sum((finish >= i * m) & (finish < (i + 1) * m))) for i in range(int(200 // m))]
    assert by_month == {"o": expected} and len(expected) == 6  # the seventh month is cut off by the end
    assert sum(expected) == 25 * int(np.sum(finish < 6 * m))
    # after a 50-day warm-up, months count from day 50, and the capacity is over the 150 days left
    late = res.wafers_out_by_month(50.0)["o"]
    assert late[0] == 25 * int(np.sum((finish >= 50) & (finish < 50 + m)))
    s = res.summary(50.0)
    assert s["warmup_days"] == 50.0 and s["wafers_out_by_month"]["o"] == late
    lots_after = int(np.sum(finish >= 50))
    assert s["lots_completed"]["o"] == lots_after
    cap = res.supply("o", 50.0).capacity_wafers_per_month
    assert cap == pytest.approx(lots_after * 25 / 150 * m, rel=1e-12)
    # the file written from that summary gives the same capacity (its days counted from the warm-up on)
    (tmp_path / "fl.json").write_text(json.dumps(s))
    from fab2token.supply.chain import fabline_supply

    assert fabline_supply(str(tmp_path / "fl.json"), "o").capacity_wafers_per_month == pytest.approx(cap, rel=1e-12)


def test_a_warm_up_as_long_as_the_run_in_the_file_is_named(tmp_path):
    from fab2token.scenario.files import FileProblem, read_fabline_result

    out = _result().summary()
    out["warmup_days"] = 200.0
    (tmp_path / "fl.json").write_text(json.dumps(out))
    with pytest.raises(FileProblem, match=r"warmup_days is 200.*fewer than its days"):
        read_fabline_result(tmp_path / "fl.json", "o")
