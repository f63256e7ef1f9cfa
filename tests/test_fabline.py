"""The fab line simulator: the SMT2020 loader, small fabs with exact answers, determinism, and the command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fab2token.cli.main import app
from fab2token.errors import ScenarioError
from fab2token.supply.fabline import load_fab, load_fab_yaml, simulate_fab
from fab2token.supply.fabline.loader import FabFormatError
from tests.conftest import EXAMPLES, SHARED

HVLM = SHARED / "data" / "smt2020" / "HVLM"
needs_smt = pytest.mark.skipif(not HVLM.exists(), reason="shared SMT2020 data not present")

ONE_TOOL = """
families: [{name: t, tools: 1}]
products: [{name: p, route: [{family: t, minutes: 30, per: lot}]}]
orders: [{name: o, product: p, every_minutes: 60, count: 100, due_days: 1}]
transport_minutes: 0
"""


def _fab(tmp_path, text: str, name: str = "fab.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return load_fab_yaml(p)


def test_one_tool_story_exact_cycle_time_and_utilisation(tmp_path):
    # a lot every hour, 30 minutes on one tool, no randomness: every lot waits 0 and takes 30 minutes
    res = simulate_fab(_fab(tmp_path, ONE_TOOL), days=2)
    s = res.summary()
    assert s["lots_completed"] == {"o": 48}  # released at 0, 60, ... 47 x 60 minutes; the 49th is still running
    assert s["cycle_time_days"]["o"]["mean"] == pytest.approx(30 / 1440)
    assert s["utilisation_by_family"]["t"] == pytest.approx(0.5, abs=0.011)
    assert s["on_time_frac"] == 1.0 and s["on_time_frac_by_order"] == {"o": 1.0}


def test_two_lots_queue_on_one_tool(tmp_path):
    fab = _fab(tmp_path, ONE_TOOL.replace("every_minutes: 60", "every_minutes: 20"))
    s = simulate_fab(fab, days=0.5).summary()
    # 30-minute jobs every 20 minutes: lot n waits 10 n minutes; the queue grows
    assert s["cycle_time_days"]["o"]["p95"] > s["cycle_time_days"]["o"]["p50"] > 30 / 1440
    assert s["utilisation_by_family"]["t"] == pytest.approx(1.0, abs=0.01)


def test_batching_waits_for_the_minimum_batch(tmp_path):
    fab = _fab(
        tmp_path,
        """
families: [{name: furnace, tools: 1, batch: true}]
products: [{name: p, route: [{family: furnace, minutes: 100, per: batch, batch_min_wafers: 75,
                              batch_max_wafers: 75}]}]
orders: [{name: o, product: p, every_minutes: 10, count: 3}]
""",
    )
    s = simulate_fab(fab, days=1).summary()
    # three lots of 25 wafers form one batch once the third arrives (t = 20 min); all finish at 120 min
    assert s["lots_completed"] == {"o": 3}
    cts = sorted(c[3] for c in simulate_fab(fab, days=1).completed)
    assert cts == pytest.approx([120.0, 120.0, 120.0])


def test_sampling_and_rework_follow_their_probabilities(tmp_path):
    fab = _fab(
        tmp_path,
        """
families: [{name: a, tools: 50}, {name: b, tools: 50}]
products: [{name: p, route: [{family: a, minutes: 1}, {family: b, minutes: 1, sample_percent: 30}]}]
orders: [{name: o, product: p, every_minutes: 1, count: 4000}]
""",
    )
    res = simulate_fab(fab, days=4, seed=3)
    cts = np.array([c[3] - c[2] for c in res.completed])
    sampled = np.mean(cts > 1.5)  # lots that also visited b take 2 minutes
    assert sampled == pytest.approx(0.30, abs=0.03)


def test_same_seed_same_result_other_seed_differs(tmp_path):
    fab = _fab(
        tmp_path,
        """
families: [{name: a, tools: 2, group: g}]
products: [{name: p, route: [{family: a, minutes: 50, halfwidth_minutes: 20}]}]
orders: [{name: o, product: p, every_minutes: 30, count: 200}]
downs: [{group: g, mttf_minutes: 600, mttr_minutes: 60}]
""",
    )
    a = simulate_fab(fab, days=3, seed=1).completed
    b = simulate_fab(fab, days=3, seed=1).completed
    c = simulate_fab(fab, days=3, seed=2).completed
    assert a == b and a != c


def test_dispatch_rule_is_pluggable(tmp_path):
    fab = _fab(tmp_path, ONE_TOOL.replace("every_minutes: 60, count: 100", "every_minutes: 20, count: 20"))
    lifo = simulate_fab(fab, days=1, dispatch=lambda now, arrival, due, rem: -arrival)
    fifo = simulate_fab(fab, days=1, dispatch="fifo")
    assert len(lifo.completed) == len(fifo.completed) == 20
    assert lifo.dispatch == "<lambda>"
    releases_fifo = [c[2] for c in fifo.completed]
    releases_lifo = [c[2] for c in lifo.completed]
    assert releases_fifo == sorted(releases_fifo)  # first in, first out
    assert releases_lifo != sorted(releases_lifo)  # the newest lot jumps the queue


def test_bad_own_format_fab_names_the_field(tmp_path):
    with pytest.raises(ScenarioError) as info:
        _fab(tmp_path, ONE_TOOL.replace("family: t,", "family: nope,"))
    assert info.value.issues[0].path == "products[0].route[0].family"


@needs_smt
def test_loads_the_smt2020_hvlm_model_as_published():
    m = load_fab(HVLM)
    assert [len(r) for r in m.routes] == [583, 343]  # SMT2020 HV/LM: route_3 583 steps, route_4 343
    assert len(m.families) == 106 and m.tool_count == 1443
    assert len(m.wip) == 2255 and len(m.orders) == 5
    assert {o.name for o in m.orders} >= {"Lot_3", "Lot_4", "HotLot_3", "HotLot_4"}
    assert m.transport_min == (7.5, 2.5)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FabFormatError, match="tool.txt.1l"):
        load_fab(tmp_path)


@needs_smt
def test_fabline_command_json_keys():
    res = CliRunner().invoke(app, ["fabline", str(HVLM), "--days", "2", "--dispatch", "fifo", "--seed", "1", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    for key in (
        "days",
        "lots_completed",
        "cycle_time_days_mean",
        "on_time_frac",
        "on_time_frac_by_order",
        "throughput_wafers_per_day",
        "bottlenecks",
        "events_processed",
        "wall_s",
    ):
        assert key in d
    # in two days only initial WIP finishes: it counts under its product and priority class
    assert d["lots_completed"]["Lot_3"] > 0 and d["cycle_time_days_mean"] == {} and d["events_processed"] > 10_000
    bad = CliRunner().invoke(app, ["fabline", str(HVLM), "--dispatch", "magic"])
    assert bad.exit_code == 2 and "--dispatch" in bad.stderr


def test_fabline_report_and_supply_feed(tmp_path):
    p = tmp_path / "fab.yaml"
    p.write_text(ONE_TOOL.replace("count: 100", "count: 2000"))
    out = tmp_path / "fl.json"
    res = CliRunner().invoke(app, ["fabline", str(p), "--days", "40", "--json", "--report", str(tmp_path / "f.html")])
    assert res.exit_code == 0, res.output
    out.write_text(res.stdout)
    page = (tmp_path / "f.html").read_text()
    assert "Cycle-time distribution" in page and "WIP over time" in page and 'src="http' not in page
    assert "Wafers out by month" in page
    # one whole month of 30.44 days fits in 40: 24 lots a day of 25 wafers, each out 30 minutes after its release
    lots_in_month = sum(k / 24 + 30 / 1440 < 365.25 / 12 for k in range(40 * 24))  # released every hour
    assert json.loads(res.stdout)["wafers_out_by_month"]["o"] == [25 * lots_in_month]
    from fab2token.supply.chain import fabline_supply

    sup = fabline_supply(str(out), "o")
    # 24 lots a day of 25 wafers over 40 days (the last, released at 39.96 days, is done 30 minutes later)
    assert sup.cycle_months == 0 and sup.capacity_wafers_per_month == pytest.approx(40 * 24 * 25 / 40 * 365.25 / 12)
    assert sup.lag_share == (1.0,)  # every lot done within the month it started


@needs_smt
@pytest.mark.parametrize(
    ("dataset", "dispatch", "downs_per", "preempt"),
    [
        ("HVLM", "fifo", "tool", True),
        ("HVLM", "cr", "group", False),
        ("LVHM", "edd", "tool", False),
        ("LVHM", "spt", "group", True),
    ],
)
def test_compiled_kernel_is_bit_identical_to_plain_python(dataset, dispatch, downs_per, preempt):
    """The C++ loop and the Python one: the same lots, finishing at the same minutes (batching, setups, downs per
    tool and per group, stopping the job or not, PMs by time and by pieces, rework, sampling, every named rule)."""
    from fab2token.supply.fabline.engine import compiled_kernel

    if compiled_kernel() is None:
        pytest.skip("compiled kernel not built (python -m fab2token.supply.fabline.build)")
    model = load_fab(SHARED / "data" / "smt2020" / dataset)
    kw = dict(days=8, dispatch=dispatch, seed=3, downs_per=downs_per, downs_preempt=preempt)
    fast = simulate_fab(model, compiled=True, **kw)
    plain = simulate_fab(model, compiled=False, **kw)
    assert len(fast.completed) > 300
    assert fast.completed == plain.completed
    assert fast.wip_by_day == plain.wip_by_day and fast.released == plain.released
    assert fast.utilisation == plain.utilisation and fast.mean_queue == plain.mean_queue
    assert fast.availability == plain.availability and fast.setup_share == plain.setup_share
    assert fast.events_processed == plain.events_processed


def test_a_key_function_runs_in_plain_python(tmp_path):
    """A caller's own key function: the plain loop runs it (as it runs every rule); the C++ loop knows only the
    named rules, so requiring it with a key function is refused with the reason."""
    fab = _fab(tmp_path, ONE_TOOL)
    by_due = simulate_fab(fab, days=1, dispatch=lambda now, arrival, due, remaining: due)
    assert by_due.completed == simulate_fab(fab, days=1, dispatch="edd", compiled=False).completed
    with pytest.raises(RuntimeError, match="named dispatch rules"):
        simulate_fab(fab, days=1, dispatch=lambda now, arrival, due, remaining: due, compiled=True)


@pytest.mark.parametrize("compiled", [False, True])
def test_an_exception_in_the_daily_call_stops_either_loop(tmp_path, compiled):
    """Ctrl-C (or an alarm) during a long run: the signal's handler runs in the daily call, its exception stops the
    C++ loop as it stops the Python one, and reaches the caller."""
    from fab2token.supply.fabline.engine import compiled_kernel

    if compiled and compiled_kernel() is None:
        pytest.skip("compiled kernel not built (python -m fab2token.supply.fabline.build)")
    days_seen: list[float] = []

    def progress(day: float) -> None:
        days_seen.append(day)
        if day >= 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate_fab(_fab(tmp_path, ONE_TOOL), days=30_000, progress=progress, compiled=compiled)
    assert days_seen == [1.0, 2.0, 3.0, 4.0, 5.0]


@needs_smt
def test_an_alarm_stops_the_compiled_loop():
    """The C++ loop holds the interpreter, but calls back once a simulated day: a SIGALRM's handler runs there."""
    import signal
    import time

    from fab2token.supply.fabline.engine import compiled_kernel

    if compiled_kernel() is None:
        pytest.skip("compiled kernel not built (python -m fab2token.supply.fabline.build)")

    def _alarm(signum, frame):
        raise TimeoutError("alarm")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    t0 = time.perf_counter()
    try:
        with pytest.raises(TimeoutError):
            simulate_fab(load_fab(HVLM), days=3000, compiled=True)  # about 20 s if it were not stopped
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert time.perf_counter() - t0 < 10


def test_a_stale_compiled_kernel_is_never_used(tmp_path, monkeypatch):
    from fab2token.supply.fabline import engine, native

    monkeypatch.setattr(native, "source_sha256", lambda: "not the source it was built from")
    assert engine.compiled_kernel() is None
    fab = _fab(tmp_path, ONE_TOOL)
    assert len(simulate_fab(fab, days=1).completed) == 24  # 0, 60, ..., 1380 min; falls back to plain Python
    with pytest.raises(RuntimeError, match="fab2token.supply.fabline.build"):
        simulate_fab(fab, days=1, compiled=True)


@pytest.mark.parametrize(
    ("options", "field"), [({"days": 0}, "days"), ({"days": float("nan")}, "days"), ({"dispatch": "magic"}, "dispatch")]
)
def test_run_options_are_checked_by_the_api_not_only_the_cli(tmp_path, options, field):
    with pytest.raises(ScenarioError) as err:
        simulate_fab(_fab(tmp_path, ONE_TOOL), **options)
    (issue,) = err.value.issues
    assert issue.path == field and issue.file == "simulate_fab"


def test_replications_run_each_seed_as_one_run_would_locally_and_on_dask(tmp_path):
    from fab2token.supply.fabline import load_any
    from fab2token.sweep.replicate import REPLICATION_KEYS, replicate_fab

    fab = EXAMPLES / "mini-fab.yaml"
    res = replicate_fab(fab, days=20, seeds=3, first_seed=4)
    assert tuple(res) == REPLICATION_KEYS and res["seeds"] == [4, 5, 6]
    for run in res["runs"]:
        one = simulate_fab(load_any(fab), days=20, seed=run["seed"]).summary()
        assert run["cycle_time_days_mean"] == one["cycle_time_days_mean"]
        assert run["lots_completed"] == one["lots_completed"]
    cts = [r["cycle_time_days_mean"]["chip_lots"] for r in res["runs"]]
    assert res["by_order"]["chip_lots"]["cycle_time_days_mean"] == {
        "mean": pytest.approx(sum(cts) / 3),
        "min": min(cts),
        "max": max(cts),
    }
    on_dask = replicate_fab(fab, days=20, seeds=3, first_seed=4, workers=2)
    assert on_dask["by_order"] == res["by_order"]
    with pytest.raises(ScenarioError, match=r"seeds \(--replications\): got 0"):
        replicate_fab(fab, seeds=0)
    bad = CliRunner().invoke(app, ["fabline", str(fab), "--replications", "2", "--report", str(tmp_path / "r.html")])
    assert bad.exit_code == 2 and "one run's page" in bad.stderr


def test_a_breakdown_stops_the_running_job_which_resumes_after_the_repair(tmp_path):
    """One tool, lots of 300 minutes released every 1,000 (never a queue), downs every ~500 minutes for ~100: with
    preemption a lot struck mid-job takes 300 minutes plus the repairs that struck it; a breakdown waiting for the
    job (``downs_preempt=False``) leaves every lot at exactly 300 minutes, the tool going down after it."""
    fab = _fab(
        tmp_path,
        """
families: [{name: t, tools: 1, group: g}]
products: [{name: p, route: [{family: t, minutes: 300, per: lot}]}]
orders: [{name: o, product: p, every_minutes: 1000, count: 40}]
downs: [{group: g, mttf_minutes: 500, mttr_minutes: 100}]
transport_minutes: 0
""",
    )
    waiting = simulate_fab(fab, days=30, seed=3, downs_preempt=False)
    cts = [finish - release for _, _, release, finish, _, _ in waiting.completed]
    late_starts = [ct for ct in cts if ct > 300 + 1e-9]  # a lot that arrived while the tool was down waited for it
    stopped = simulate_fab(fab, days=30, seed=3)
    cts_p = np.array([finish - release for _, _, release, finish, _, _ in stopped.completed])
    assert len(waiting.completed) == len(stopped.completed) == 40
    assert all(ct >= 300 - 1e-9 for ct in cts_p) and (cts_p > 300 + 1e-9).sum() > len(late_starts)
    for compiled in (False, True):  # the compiled loop runs the same branches to the same results
        assert simulate_fab(fab, days=30, seed=3, compiled=compiled).completed == stopped.completed
