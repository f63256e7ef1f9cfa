"""Operations hour by hour: the repair queue against its closed form and Little's law, a spike larger than the
headroom failing the SLO by the amount the closed form gives, the policies' effect on training and inference, the
demand shape, and the command."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from fab2token.cli.main import app
from fab2token.engine.simulate import simulate
from fab2token.operations.failures import draw_failures
from fab2token.operations.hours import demand_by_hour, hour_axis
from fab2token.operations.run import OPERATE_KEYS, operate
from fab2token.scenario import parse_scenario
from fab2token.scenario.operations import Operations
from tests.conftest import EXAMPLES

SMALL = yaml.safe_load((EXAMPLES / "small.yaml").read_text())


def _scenario(ops: dict, **changes):
    data = copy.deepcopy(SMALL)
    data["operations"] = ops
    data.update(changes)
    return parse_scenario(yaml.safe_dump(data), "<test>")


def test_the_repair_queue_is_m_m_inf():
    """10,000 accelerators failing at 1e-4 per hour, 8 to a node, repaired in 24 h on average: nodes in repair
    are Poisson with mean (arrival rate x mean repair) = 1 x 24 (M/M/inf); the time-average is within 4 standard
    errors (an effective sample of hours / (2 x 24) for the repair time's correlation)."""
    hours = 40_000
    f = draw_failures(np.full((hours, 1), 10_000.0), 1e-4, 8, 24.0, np.random.default_rng(1))
    nodes = f.down_accelerators[:, 0] / 8.0
    steady = nodes[200:]  # after the empty start
    se = math.sqrt(24.0 / (steady.size / (2 * 24.0)))
    assert abs(steady.mean() - 24.0) < 4 * se
    # Little's law on the simulated queue: the time-average in repair = the observed arrival rate x the observed
    # mean time in repair (within the repairs cut by the horizon's end)
    arrivals = f.count.sum() / hours
    in_horizon = np.minimum(f.arrival + f.repair_hours, hours) - f.arrival
    assert nodes.mean() == pytest.approx(arrivals * in_horizon.mean(), rel=1e-9)
    assert f.repair_hours.mean() == pytest.approx(24.0, rel=0.05)


def test_down_hours_are_exact_on_hand_placed_failures():
    from fab2token.operations.failures import _time_in_hours

    # one failure from 1.25 h to 3.5 h, another from 0 to 0.5 h: per hour 0.5, 0.75, 1, 0.5, 0
    got = _time_in_hours(np.array([1.25, 0.0]), np.array([3.5, 0.5]), np.array([0, 0]), 5, 1)[:, 0]
    assert got == pytest.approx([0.5, 0.75, 1.0, 0.5, 0.0])


def _flat_inference(headroom_multiple: float, spike: dict | None):
    """small.yaml without training, failures off, demand flat at the capacity of month 2027-03 / headroom_multiple."""
    base = _scenario(
        {"repair_hours": 1, "failure_rate_per_accelerator_hour": 0}, workloads={**SMALL["workloads"], "training": []}
    )
    ds = simulate(base)
    k = [str(m) for m in ds["month"].values].index("2027-03")
    cap = float(ds["accelerators_installed"].values[k].sum()) * ds.attrs["inference_tokens_per_s_per_accelerator"]
    demand = cap / headroom_multiple
    wl = {**SMALL["workloads"], "training": []}
    wl["inference"] = {
        **wl["inference"],
        "demand": [{"from": "2027-03", "tokens_per_s": demand}, {"from": "2027-04", "tokens_per_s": 0}],
    }
    ops = {"repair_hours": 1, "failure_rate_per_accelerator_hour": 0, "spikes": [spike] if spike else []}
    return _scenario(ops, workloads=wl), demand, cap


def test_a_spike_beyond_the_headroom_fails_by_the_closed_form():
    """Demand at capacity / 1.25 (a 25 % headroom) and a 2x spike for 10 hours: each spike hour misses
    2 D - C tokens/s, nothing else is missed, and the largest spike absorbed is below 1.25."""
    sc, d, cap = _flat_inference(1.25, {"start": "2027-03-10T12", "hours": 10, "multiplier": 2.0})
    o = operate(sc)
    inf = o.to_dict()["inference"]
    assert inf["unmet_tokens"] == pytest.approx((2.0 * d - cap) * 10 * 3600.0, rel=1e-9)
    asked = d * o.hours.month.tolist().count(14) * 3600.0 + d * 10 * 3600.0  # the month plus the spike's extra
    assert inf["slo_attainment_frac"] == pytest.approx(1.0 - inf["unmet_tokens"] / asked, rel=1e-9)
    # a spike within the headroom is absorbed whole
    sc, d, cap = _flat_inference(1.25, {"start": "2027-03-10T12", "hours": 10, "multiplier": 1.2})
    inf = operate(sc).to_dict()["inference"]
    assert inf["unmet_tokens"] == pytest.approx(0.0, abs=1e-6 * d) and inf["largest_spike_absorbed"] == pytest.approx(
        1.2
    )


def _with_training(policy: str, **extra):
    ops = {
        "policy": policy,
        "repair_hours": 24,
        "failure_domain_accelerators": 8,
        "spikes": [{"start": "2026-10-01T00", "hours": 48, "multiplier": 10.0}],  # during the run
        **extra,
    }
    return operate(_scenario(ops))


def test_inference_first_preempts_training_and_training_first_does_not():
    tf = _with_training("training-first")
    inf_first = _with_training("inference-first")
    a, b = tf.runs[0], inf_first.runs[0]
    assert a["preemptions"] == 0 and b["preemptions"] >= 1
    assert b["wall_hours"] > a["wall_hours"]  # preempted runs finish later
    assert inf_first.to_dict()["inference"]["unmet_tokens"] < tf.to_dict()["inference"]["unmet_tokens"]
    # in every hour the run holds its accelerators, they were up
    assert np.all(tf.training_held <= tf.available + 1e-9)


def test_a_headroom_training_cannot_fit_keeps_the_run_waiting():
    o = _with_training("headroom", headroom_frac=0.9)
    assert o.runs[0]["status"] == "running at the end" and o.runs[0]["start"] is None
    assert o.training_held.max() == 0.0


def test_interruptions_follow_the_failure_rate():
    """The run's interruptions are Poisson with mean rate x accelerators x the hours it runs (within 4 sd)."""
    o = _with_training("training-first", failure_rate_per_accelerator_hour=2e-5)
    r = o.runs[0]
    expected = 2e-5 * r["accelerators"] * r["wall_hours"]
    assert abs(r["interruptions"] - expected) < 4 * math.sqrt(expected)
    assert 0 < r["goodput"] < 1 and r["lost_hours"] > 0


def test_demand_shape_keeps_the_monthly_mean():
    ops = Operations(repair_hours=1, diurnal=[float(h) for h in range(1, 25)], weekly=[1, 1, 1, 1, 1, 2, 2])
    sc = _scenario(ops.model_dump(exclude_none=True))
    hours = hour_axis(sc)
    d, base = demand_by_hour(np.full(sc.horizon.months, 100.0), ops, hours, np.random.default_rng(0))
    assert np.array_equal(d, base)  # no spikes
    assert base.mean() == pytest.approx(100.0, rel=0.01)  # shapes normalised to mean 1 (whole weeks nearly)
    assert base[hours.hour_of_day == 23].mean() > base[hours.hour_of_day == 0].mean() * 10


def test_operate_command(tmp_path):
    data = copy.deepcopy(SMALL)
    data["operations"] = {
        "policy": "inference-first",
        "repair_hours": 24,
        "outages": [{"site": "alpha", "start": "2026-09-01T00", "hours": 12}],
    }
    path = tmp_path / "ops.yaml"
    path.write_text(yaml.safe_dump(data))
    r = CliRunner().invoke(app, ["operate", str(path), "--json"])
    assert r.exit_code == 0, r.output
    assert tuple(json.loads(r.output)) == OPERATE_KEYS
    page = tmp_path / "ops.html"
    r = CliRunner().invoke(app, ["operate", str(path), "--report", str(page)])
    assert r.exit_code == 0 and "SLO attainment" in r.output
    assert "The fleet hour by hour" in page.read_text() and "llama-70b-15T" in page.read_text()
    r = CliRunner().invoke(app, ["operate", str(path), "--report", str(path)])
    assert r.exit_code == 2 and "--report" in r.output
    data["operations"]["outages"][0]["site"] = "gamma"
    data["operations"]["spikes"] = [{"start": "2026-13-01T00", "hours": 2, "multiplier": 2}]
    path.write_text(yaml.safe_dump(data))
    r = CliRunner().invoke(app, ["operate", str(path)])
    assert r.exit_code == 2
    assert "operations.outages[0].site" in r.output or "operations.spikes[0].start" in r.output
    assert "operations.spikes[0].start" in r.output and "YYYY-MM-DDTHH" in r.output
    r = CliRunner().invoke(app, ["operate", str(EXAMPLES / "small.yaml")])
    assert r.exit_code == 2 and "no operations section" in r.output


def test_draws_give_ordered_ranges_and_the_first_draw_is_the_run():
    from fab2token.operations.run import operate_draws

    sc = _scenario(
        {
            "policy": "inference-first",
            "repair_hours": 24,
            "random_spikes": {"per_day": 1, "hours": 2, "multiplier_median": 2, "multiplier_p90": 4},
        }
    )
    one = operate_draws(sc, 1)
    single = operate(sc).to_dict()
    assert one["slo_attainment_frac"]["p50"] == pytest.approx(single["inference"]["slo_attainment_frac"])
    assert one["training_runs"][0]["finish_p50"] == single["training_runs"][0]["finish"]
    many = operate_draws(sc, 8)
    s = many["slo_attainment_frac"]
    assert s["p10"] <= s["p50"] <= s["p90"] and s["p10"] < s["p90"]  # the seeds move it
    r = many["training_runs"][0]
    assert r["finish_p10"] <= r["finish_p50"] <= r["finish_p90"]
    assert operate_draws(sc, 8) == many  # the same seeds, the same draws


def test_draws_with_repair_crews_each_equal_their_seeds_run_alone(monkeypatch):
    """operate_draws draws every seed's failures with one joined repair queue; each draw is still its seed's own
    run, bit for bit (checked on the summaries each draw is made of)."""
    from fab2token.operations import run as op_run

    sc = _scenario({"policy": "inference-first", "repair_hours": 24, "repair_crews": 1, "spare_domains": 1})
    seen = []
    real = op_run.operate
    monkeypatch.setattr(op_run, "operate", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    op_run.operate_draws(sc, 4)
    assert len(seen) == 4
    waits = 0.0
    for k, batched in enumerate(seen):
        ops = sc.operations.model_copy(update={"seed": sc.operations.seed + k})
        alone = real(sc.model_copy(update={"operations": ops}))
        assert batched.to_dict() == alone.to_dict()
        np.testing.assert_array_equal(batched.failures.wait_hours, alone.failures.wait_hours)
        waits += float(alone.failures.wait_hours.sum())
    assert waits > 0  # one crew: failures queue, so the joined queue is exercised


def test_run_takes_the_hourly_answers_and_keeps_the_monthly_ones(tmp_path):
    """With an operations section, `run` reports the hourly layer's training finish and inference served (both
    time scales in the Dataset), and the store keeps it."""
    from fab2token.api import run_file

    data = copy.deepcopy(SMALL)
    data["operations"] = {"policy": "inference-first", "repair_hours": 24}
    path = tmp_path / "ops.yaml"
    path.write_text(yaml.safe_dump(data))
    res = run_file(path, db=tmp_path / "s.duckdb")
    o = operate(parse_scenario(path.read_text(), str(path)))
    run = res.summary.training_runs[0]
    assert run["finish"] == o.runs[0]["finish"][:7] and run["hourly_preemptions"] == o.runs[0]["preemptions"]
    ds = res.dataset
    assert {"availability_frac", "inference_served_tokens_per_s_monthly_engine"} <= set(ds.data_vars)
    assert np.all(ds["inference_served_tokens_per_s"].values <= ds["inference_demand_tokens_per_s"].values + 1e-6)
    assert 0.9 < float(ds["availability_frac"].min()) <= 1.0


def test_fair_share_guarantees_inference_its_share_and_no_more():
    """Under fair-share, inference keeps min(demand, share x up) whatever training wants: it serves at least what
    that share serves, and training is preempted less than under inference-first."""
    fair = _with_training("fair-share", inference_share_frac=0.3)
    first = _with_training("inference-first")
    tf = _with_training("training-first")
    rate = fair.extra["rate"]
    guaranteed = np.minimum(fair.demand, 0.3 * fair.available * rate)
    assert np.all(fair.served >= guaranteed - 1e-6 * np.maximum(guaranteed, 1.0))
    assert fair.runs[0]["preemptions"] <= first.runs[0]["preemptions"]
    d = [o.to_dict()["inference"]["unmet_tokens"] for o in (first, fair, tf)]
    assert d[0] <= d[1] <= d[2]


def test_a_run_trains_on_one_site_and_its_outage_pauses_it():
    """The run holds its whole cluster at one site (the one with the most installed when it may start); an outage
    there pauses it, while the same outage at the other site does not."""
    base = _with_training("training-first", failure_rate_per_accelerator_hour=0)
    run = base.runs[0]
    site = run["site"]
    other = next(s["name"] for s in SMALL["sites"] if s["name"] != site)
    start = run["start"]
    mid = str(np.datetime64(start, "h") + 100)
    here = _with_training(
        "training-first", failure_rate_per_accelerator_hour=0, outages=[{"site": site, "start": mid, "hours": 12}]
    )
    there = _with_training(
        "training-first", failure_rate_per_accelerator_hour=0, outages=[{"site": other, "start": mid, "hours": 12}]
    )
    assert here.runs[0]["pauses_for_capacity"] == 1 and here.runs[0]["wall_hours"] >= run["wall_hours"] + 12
    assert there.runs[0]["pauses_for_capacity"] == 0 and there.runs[0]["finish"] == run["finish"]
    held = base.extra["held_site"]
    names = base.extra["sites"]
    assert held[:, names.index(other)].max() == 0.0  # nothing of the run at the other site
    util = base.to_dict()["utilisation_by_site"]
    assert set(util) == set(names) and all(u is None or 0.0 <= u <= 1.0 + 1e-9 for u in util.values())


def test_a_one_month_horizon_keeps_its_demand():
    """The month's demand reaches the hours when the horizon is a single month (it was read as 'no demand')."""
    data = copy.deepcopy(SMALL)
    data["horizon"] = {"start": "2027-02", "months": 1}
    data["workloads"]["training"] = []
    data["operations"] = {"repair_hours": 24, "failure_rate_per_accelerator_hour": 0}
    o = operate(parse_scenario(yaml.safe_dump(data), "<t>"))
    assert o.hours.size == 28 * 24 and o.demand.min() == pytest.approx(10e6)


def _curtailed(site: str, start: str, mw: float) -> object:
    data = copy.deepcopy(SMALL)
    for s in data["sites"]:
        if s["name"] == site:
            s["curtailments"] = [{"start": start.replace("T", " ") + ":00", "hours": 12, "mw": mw}]
    data["operations"] = {"repair_hours": 24, "failure_rate_per_accelerator_hour": 0}
    return operate(parse_scenario(yaml.safe_dump(data), "<t>"))


def test_a_grid_curtailment_pauses_the_work_it_leaves_unpowered():
    """A 12-hour curtailment cutting all grid import at the run's site (alpha: no battery, no on-site power) pauses
    everything there for those 12 hours, the run included, which finishes 12 hours later; a cut of part of the
    import (17 of its 20 MW, leaving less than its load of about 5 MW) pauses less; the same event at the
    other site leaves the run alone."""
    base = _with_training("training-first", failure_rate_per_accelerator_hour=0, spikes=[])
    run = base.runs[0]
    assert run["site"] == "alpha" and base.to_dict()["power"]["hours_with_work_paused"] == 0
    mid = str(np.datetime64(run["start"], "h") + 100)
    full = _curtailed("alpha", mid, 1000.0)
    power = full.to_dict()["power"]
    assert power["hours_with_work_paused"] == 12
    k = int(np.datetime64(mid, "h").astype(np.int64) - full.hours.hour[0])
    j = full.extra["sites"].index("alpha")
    assert full.extra["up_site"][k : k + 12, j].max() == 0.0
    assert power["paused_accelerator_hours_by_site"]["alpha"] == pytest.approx(
        full.extra["installed_site"][k : k + 12, j].sum()
    )
    assert full.runs[0]["pauses_for_capacity"] == 1 and full.runs[0]["wall_hours"] >= run["wall_hours"] + 12
    part = _curtailed("alpha", mid, 17.0).to_dict()["power"]["paused_accelerator_hours"]
    assert 0.0 < part < power["paused_accelerator_hours"]
    other = _curtailed("beta", mid, 1000.0)
    assert other.runs[0]["finish"] == run["finish"]


def _campus_run(outages: list[dict]) -> object:
    """small.yaml with a campus joining its two sites (links of 3.2 Pb/s: 8,000 accelerators' worth each) and one
    run of 25,000 H100 from 2027-10, more than either site holds (alpha ~18,600, beta ~15,300)."""
    data = copy.deepcopy(SMALL)
    data["campuses"] = [{"name": "campus", "sites": ["alpha", "beta"], "inter_site_gbps": 3.2e6}]
    run = {**data["workloads"]["training"][0], "name": "big", "accelerators": 25000, "tokens": 2e12, "start": "2027-10"}
    data["workloads"]["training"] = [run]
    data["operations"] = {"repair_hours": 24, "failure_rate_per_accelerator_hour": 0, "outages": outages}
    return operate(parse_scenario(yaml.safe_dump(data), "<t>"))


def test_a_run_too_big_for_any_site_spans_the_campus():
    """The run holds its cluster across the campus: the site with most free all it has, the other within its link;
    an outage at either member pauses it (the campus no longer holds 25,000), which finishes it that much later."""
    o = _campus_run([])
    (run,) = o.runs
    assert run["status"] == "finished" and run["site"] == "campus" and run["sites"] == ["alpha", "beta"]
    held = o.extra["held_site"]
    busy = held.sum(axis=1) > 0
    assert np.allclose(held[busy].sum(axis=1), 25000.0)
    assert (held[busy] <= o.extra["up_site"][busy] + 1e-6).all()  # never more than is up at a member
    assert held[busy].min(axis=0).min() > 0  # both members carry part of it
    assert (held[busy] - 8000.0 <= 1e-6).any(axis=1).all()  # one member within its link's worth
    start = np.datetime64(run["start"], "h")
    hit = _campus_run([{"site": "beta", "start": str(start + 2), "hours": 6}])
    assert hit.runs[0]["pauses_for_capacity"] == 1 and hit.runs[0]["wall_hours"] >= run["wall_hours"] + 6


def test_without_unserved_energy_no_hour_is_paused_and_the_hours_are_not_run_again(monkeypatch):
    """The shortcut is exact: where the engine's months show no unserved energy, the hourly engine's own hourly
    share (run here for the check) is zero in every hour, which is what paused_share returns without running it."""
    from fab2token.engine.simulate import simulate
    from fab2token.operations import power
    from fab2token.operations.hours import hour_axis
    from fab2token.scenario.timeline import month_axis
    from fab2token.sites.inputs import site_inputs

    sc = parse_scenario(yaml.safe_dump(SMALL), "<t>")
    ds = simulate(sc)
    assert not (ds["unserved_energy_mwh"].values > 0).any()
    si = site_inputs(sc, month_axis(sc.horizon.start, sc.horizon.months))
    full = si.hourly_energy(sc.sites, ds["it_power_mw"].values, paused_by_hour=True).paused_frac_by_hour
    assert full is not None and not full.any()
    monkeypatch.setattr(power, "site_inputs", lambda *a, **k: pytest.fail("the hourly engine ran again"))
    hours = hour_axis(sc)
    share = power.paused_share(sc, ds, hours)
    assert share.shape == (hours.size, len(sc.sites)) and not share.any()
