"""Sweeps: draws reproducible by seed and chunking, a one-point distribution equal to the deterministic run, known
distributions coming out of the engine as theory says, Sobol indices of the Ishigami function, the same results on
a 2-process dask LocalCluster, resume after SIGKILL losing nothing, and bad options refused."""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from fab2token.catalog import table_rows
from fab2token.engine.simulate import simulate, summarise
from fab2token.errors import Fab2TokenError, ScenarioError
from fab2token.io.sweep_store import list_sweeps, load_sweep_arrays
from fab2token.scenario import load_scenario
from fab2token.scenario.distributions import Dist
from fab2token.scenario.draws import sobol_design
from fab2token.scenario.uncertain import UncertainInputs
from fab2token.sweep.execute import run_sweep
from fab2token.sweep.stats import quantile_rows, rank_correlations, sobol_indices
from fab2token.sweep.summary import SWEEP_KEYS, summarise_sweep

ROOT = Path(__file__).resolve().parents[1]
FAB2TOKEN = str(Path(sys.executable).parent / "fab2token")


def _small() -> dict:
    return yaml.safe_load((ROOT / "examples" / "small.yaml").read_text())


def _write(tmp_path: Path, data: dict, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def _same(a: dict, b: dict) -> None:
    assert a["draw"].tolist() == b["draw"].tolist()
    for key in ("inputs", "outcomes", "series"):
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            np.testing.assert_array_equal(a[key][name], b[key][name], err_msg=f"{key}.{name}")
    assert (a["binding"] == b["binding"]).all()


def test_a_one_point_distribution_equals_the_deterministic_run(tmp_path):
    data = _small()
    data["workloads"]["training"][0]["mfu"] = {"dist": "choice", "values": [0.4]}
    path = _write(tmp_path, data)
    run = run_sweep(path, tmp_path / "db.duckdb", draws=3, seed=5)
    arrays = load_sweep_arrays(tmp_path / "db.duckdb", run.sweep_id)
    ds = simulate(load_scenario(ROOT / "examples" / "small.yaml")[0])
    summary = summarise(ds).to_dict()
    for name in ("accelerators_installed_end", "capex_usd_total", "opex_usd_total", "energy_mwh_total"):
        assert arrays["outcomes"][name].tolist() == [summary[name]] * 3, name
    np.testing.assert_array_equal(
        arrays["series"]["it_power_mw"], np.tile(ds["it_power_mw"].sum("site").values, (3, 1))
    )
    assert (arrays["binding"] == ds["binding_constraint"].values.astype(str)).all()


def test_draws_depend_on_the_seed_only_not_on_chunks_or_on_how_many(tmp_path):
    path = ROOT / "examples" / "uncertain.yaml"
    a = run_sweep(path, tmp_path / "a.duckdb", draws=12, seed=3, chunk_draws=5)
    b = run_sweep(path, tmp_path / "b.duckdb", draws=12, seed=3, chunk_draws=12)
    c = run_sweep(path, tmp_path / "c.duckdb", draws=6, seed=3, chunk_draws=4)
    d = run_sweep(path, tmp_path / "d.duckdb", draws=6, seed=4)
    A, B = load_sweep_arrays(tmp_path / "a.duckdb", a.sweep_id), load_sweep_arrays(tmp_path / "b.duckdb", b.sweep_id)
    _same(A, B)
    C = load_sweep_arrays(tmp_path / "c.duckdb", c.sweep_id)
    for name, v in C["inputs"].items():
        np.testing.assert_array_equal(v, A["inputs"][name][:6])
    np.testing.assert_array_equal(C["outcomes"]["capex_usd_total"], A["outcomes"]["capex_usd_total"][:6])
    D = load_sweep_arrays(tmp_path / "d.duckdb", d.sweep_id)
    assert not np.array_equal(D["inputs"]["supply.fab.d0_launch_per_cm2"], C["inputs"]["supply.fab.d0_launch_per_cm2"])


def test_a_uniform_d0_through_the_poisson_yield_has_the_closed_form_mean(tmp_path):
    """E[exp(-A D)] for D ~ U(a, b) is (exp(-A a) - exp(-A b)) / (A (b - a)); the sweep's mean yield lies within
    four standard errors of it."""
    data = _small()
    fab = data["supply"]["fab"]
    for key in ("d0_launch_per_cm2", "d0_ramp_months", "node_launch"):
        fab.pop(key, None)
    low, high = 0.05, 0.30
    fab |= {"yield_model": "poisson", "d0_per_cm2": {"dist": "uniform", "low": low, "high": high}}
    run = run_sweep(_write(tmp_path, data), tmp_path / "db.duckdb", draws=400, seed=11, chunk_draws=200)
    y = load_sweep_arrays(tmp_path / "db.duckdb", run.sweep_id)["series"]["die_yield"]
    assert np.ptp(y, axis=1).max() == 0  # one D0 per draw, every month
    area = next(r for r in table_rows("accelerators") if r["name"] == "H100-SXM")["compute_die_area_mm2"] / 100.0
    expected = (math.exp(-area * low) - math.exp(-area * high)) / (area * (high - low))
    se = y[:, 0].std(ddof=1) / math.sqrt(len(y))
    assert abs(y[:, 0].mean() - expected) < 4 * se, (y[:, 0].mean(), expected, se)
    # and each draw's yield is the Poisson yield of its own D0
    d0 = load_sweep_arrays(tmp_path / "db.duckdb", run.sweep_id)["inputs"]["supply.fab.d0_per_cm2"]
    np.testing.assert_allclose(y[:, 0], np.exp(-area * d0), rtol=1e-12)


def test_a_uniform_grid_arrival_gives_a_uniform_first_powered_month(tmp_path):
    data = _small()
    site = data["sites"][0]
    site["construction_start"] = "2025-01"
    site["grid_power"] = [{"from": {"dist": "uniform_month", "low": "2026-03", "high": "2026-08"}, "mw": 20}]
    run = run_sweep(_write(tmp_path, data), tmp_path / "db.duckdb", draws=300, seed=2, chunk_draws=150)
    a = load_sweep_arrays(tmp_path / "db.duckdb", run.sweep_id)
    # beta is energised in 2027-09: before then alpha's capacity is all there is
    first = np.argmax(a["series"]["it_capacity_mw"] > 0, axis=1)  # month index from 2026-01
    drawn = a["inputs"]["sites[0].grid_power[0].from"].astype(int)
    start = drawn - drawn.min() + 2  # 2026-03 is index 2
    assert (first == start).all()
    counts = np.bincount(first, minlength=8)[2:8]
    p = 1 / 6
    sd = math.sqrt(len(first) * p * (1 - p))
    assert np.all(np.abs(counts - len(first) * p) < 4 * sd), counts


def test_sobol_indices_of_the_ishigami_function_match_the_published_values():
    """Ishigami (a = 7, b = 0.1) on U(-pi, pi)^3: S1 = 0.3139, 0.4424, 0; ST = 0.5576, 0.4424, 0.2437 (Saltelli et
    al., Global Sensitivity Analysis: The Primer, 2008, and SALib's documentation), through the sweep's own design
    and analysis; tolerance 0.05, several times SALib's confidence half-widths at 2,048 base draws."""
    dists = {f"x{k}": Dist("uniform", (-math.pi, math.pi)) for k in (1, 2, 3)}
    problem, x = sobol_design(UncertainInputs(dists), 2048, seed=7)
    y = np.sin(x["x1"]) + 7 * np.sin(x["x2"]) ** 2 + 0.1 * x["x3"] ** 4 * np.sin(x["x1"])
    rows = {r["input"]: r for r in sobol_indices(problem["names"], y, seed=7)}
    for name, s1, st in (("x1", 0.3139, 0.5576), ("x2", 0.4424, 0.4424), ("x3", 0.0, 0.2437)):
        assert abs(rows[name]["S1"] - s1) < 0.05, (name, rows[name])
        assert abs(rows[name]["ST"] - st) < 0.05, (name, rows[name])


def test_quantiles_and_rank_correlations():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=2000)
    rows = quantile_rows({"v": x, "t.finish_month": np.r_[np.ones(80), np.full(20, np.inf)]}, {})
    v, t = rows
    assert abs(v["p10"] - 0.1) < 0.03 and abs(v["p50"] - 0.5) < 0.03 and abs(v["p90"] - 0.9) < 0.03
    assert t["finished_frac"] == 0.8 and t["p50"] == 1.0 and t["p90"] is None and t["mean"] == 1.0
    drivers = rank_correlations({"up": x, "noise": rng.uniform(size=2000), "flat": np.ones(2000)}, x**3)
    assert drivers[0] == {"input": "up", "rank_correlation": pytest.approx(1.0)}
    assert abs(drivers[1]["rank_correlation"]) < 0.1 and drivers[2]["rank_correlation"] is None


def test_the_summary_has_bands_binding_probabilities_and_drivers(tmp_path):
    run = run_sweep(ROOT / "examples" / "uncertain.yaml", tmp_path / "db.duckdb", draws=30, seed=1)
    s = summarise_sweep(tmp_path / "db.duckdb", run.sweep_id)
    assert tuple(s) == SWEEP_KEYS
    assert s["draws"] == 30 and s["status"] == "complete" and len(s["month_labels"]) == 24
    band = s["series"]["accelerators_installed"]
    assert all(lo <= mid <= hi for lo, mid, hi in zip(band["p10"], band["p50"], band["p90"], strict=True))
    probs = np.array(list(s["binding_probability_by_month"].values()))
    np.testing.assert_allclose(probs.sum(axis=0), 1.0)
    assert s["drivers"]["outcome"] == "training.llama-70b-15T.finish_month"
    assert {r["input"] for r in s["drivers"]["rank_correlations"]} == set(
        load_sweep_arrays(tmp_path / "db.duckdb", run.sweep_id)["inputs"]
    )
    months = {r["input"]: r for r in s["inputs"]}["sites[0].grid_power[1].from"]
    assert months["unit"] == "month" and "2027-02" <= months["p10"] <= months["p90"] <= "2027-12"


def _independent(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "examples" / "uncertain.yaml").read_text())
    data.pop("correlations")
    return _write(tmp_path, data, "independent.yaml")


def test_a_sobol_sweep_ranks_the_drivers_of_an_outcome(tmp_path):
    with pytest.raises(ScenarioError, match="Sobol indices assume independent inputs"):
        run_sweep(ROOT / "examples" / "uncertain.yaml", tmp_path / "db.duckdb", draws=8, method="sobol")
    run = run_sweep(_independent(tmp_path), tmp_path / "db.duckdb", draws=8, method="sobol")
    assert run.draws == 8 * (5 + 2)
    s = summarise_sweep(tmp_path / "db.duckdb", run.sweep_id, outcome="accelerators_delivered_total")
    sobol = s["drivers"]["sobol"]
    assert len(sobol) == 5 and all(r["ST"] is not None for r in sobol)


def test_the_same_seed_gives_the_same_sweep_on_a_two_process_dask_cluster(tmp_path):
    """--workers starts a LocalCluster; --scheduler connects to a running one (here a 2-process cluster on loopback,
    as `dask scheduler` + `dask worker` on other machines would be)."""
    from distributed import LocalCluster

    path = ROOT / "examples" / "uncertain.yaml"
    a = run_sweep(path, tmp_path / "a.duckdb", draws=8, seed=9, chunk_draws=2)
    b = run_sweep(path, tmp_path / "b.duckdb", draws=8, seed=9, chunk_draws=2, workers=2)
    local = load_sweep_arrays(tmp_path / "a.duckdb", a.sweep_id)
    _same(local, load_sweep_arrays(tmp_path / "b.duckdb", b.sweep_id))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1") as c:
        d = run_sweep(path, tmp_path / "d.duckdb", draws=8, seed=9, chunk_draws=3, scheduler=c.scheduler_address)
    _same(local, load_sweep_arrays(tmp_path / "d.duckdb", d.sweep_id))


def test_an_unreachable_scheduler_is_an_option_error_and_stores_nothing(tmp_path):
    db = tmp_path / "db.duckdb"
    with pytest.raises(Fab2TokenError, match=r"scheduler \(--scheduler\): got 'tcp://127.0.0.1:9'"):
        run_sweep(ROOT / "examples" / "uncertain.yaml", db, draws=2, scheduler="tcp://127.0.0.1:9")
    assert not db.exists() or list_sweeps(db) == []


def test_a_sweep_killed_mid_way_resumes_losing_and_recomputing_nothing(tmp_path):
    db = tmp_path / "db.duckdb"
    cmd = [
        FAB2TOKEN,
        "sweep",
        str(ROOT / "examples" / "uncertain.yaml"),
        "--draws",
        "40",
        "--chunk-draws",
        "5",
        "--seed",
        "4",
        "--db",
        str(db),
        "--json",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # one line per stored chunk (stderr is a pipe)
        if "10/40 draws stored" in line:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    (row,) = list_sweeps(db)
    assert row["status"] == "running" and 10 <= row["draws_stored"] < 40
    resumed = run_sweep(None, db, resume=row["sweep_id"][:6])
    assert resumed.chunks_stored_before * 5 == row["draws_stored"]
    assert resumed.chunks_computed == 8 - resumed.chunks_stored_before
    whole = run_sweep(ROOT / "examples" / "uncertain.yaml", tmp_path / "w.duckdb", draws=40, seed=4, chunk_draws=5)
    _same(load_sweep_arrays(db, row["sweep_id"]), load_sweep_arrays(tmp_path / "w.duckdb", whole.sweep_id))
    assert list_sweeps(db)[0]["status"] == "complete"


def test_cli_sweep_prints_ranges_and_json(tmp_path):
    db = str(tmp_path / "db.duckdb")
    res = subprocess.run(
        [FAB2TOKEN, "sweep", str(ROOT / "examples" / "uncertain.yaml"), "--draws", "10", "--db", db, "--json"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    assert s["draws"] == 10 and {"outcomes", "series", "inputs", "drivers", "binding_probability_by_month"} <= set(s)
    res = subprocess.run([FAB2TOKEN, "sweeps", "--db", db], capture_output=True, text=True)
    assert res.returncode == 0 and s["sweep_id"] in res.stdout
    shown = subprocess.run([FAB2TOKEN, "show", s["sweep_id"][:6], "--db", db, "--json"], capture_output=True, text=True)
    assert shown.returncode == 0 and tuple(json.loads(shown.stdout)) == SWEEP_KEYS
    shown = subprocess.run([FAB2TOKEN, "show", s["sweep_id"], "--db", db], capture_output=True, text=True)
    assert shown.returncode == 0 and "what drives training.llama-70b-15T.finish_month" in shown.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--draws", "0"], "draws (--draws): got 0; a whole number in [1,"),
        (["--seed", "-1"], "seed (--seed): got -1"),
        (["--chunk-draws", "0"], "chunk_draws (--chunk-draws): got 0"),
        (["--workers", "0"], "workers (--workers): got 0"),
        (["--sobol", "--draws", "6"], "--draws: got 6; a power of two"),
        (["--resume", "nope"], "no results store here"),
    ],
)
def test_cli_sweep_refuses_bad_options_with_exit_2(tmp_path, args, needle):
    db = tmp_path / "db.duckdb"
    res = subprocess.run(
        [FAB2TOKEN, "sweep", str(_independent(tmp_path)), *args, "--db", str(db)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert needle in res.stderr and "Traceback" not in res.stderr
    assert not db.exists() or list_sweeps(db) == []


def test_a_scenario_without_distributions_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match="at least one uncertain input to sweep"):
        run_sweep(ROOT / "examples" / "small.yaml", tmp_path / "db.duckdb", draws=3)
    assert list_sweeps(tmp_path / "db.duckdb") == [] if (tmp_path / "db.duckdb").exists() else True


def test_a_draw_that_fails_a_cross_check_names_the_draw(tmp_path):
    data = copy.deepcopy(_small())
    # the second wafer step drawn before the first: the schedule must run forward
    data["supply"]["fab"]["wafer_starts"][1]["from"] = {"dist": "choice", "values": ["2026-06", "2026-07", "2025-06"]}
    with pytest.raises(Fab2TokenError, match=r"draw \d+: supply.fab.wafer_starts\[1\].from=2025-06"):
        run_sweep(_write(tmp_path, data), tmp_path / "db.duckdb", draws=20, seed=0)


def test_resuming_an_unknown_sweep_names_it(tmp_path):
    run_sweep(ROOT / "examples" / "uncertain.yaml", tmp_path / "db.duckdb", draws=2)
    with pytest.raises(Fab2TokenError, match="no sweep with id 'nope'"):
        run_sweep(None, tmp_path / "db.duckdb", resume="nope")


def test_cli_sweep_report_has_fan_charts_and_refuses_an_input_as_its_path(tmp_path):
    db, page = tmp_path / "db.duckdb", tmp_path / "sweep.html"
    args = [FAB2TOKEN, "sweep", str(ROOT / "examples" / "uncertain.yaml"), "--draws", "6", "--db", str(db)]
    res = subprocess.run([*args, "--report", str(page)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    text = page.read_text()
    for needle in (
        "accelerators_installed: P10-P90 over the draws",
        "What binds: share of draws by month",
        "What drives training.llama-70b-15T.finish_month",
        "supply.fab.d0_launch_per_cm2",
    ):
        assert needle in text
    res = subprocess.run([*args, "--report", str(ROOT / "examples" / "uncertain.yaml")], capture_output=True, text=True)
    assert res.returncode == 2 and "this is an input of the command" in res.stderr
    assert len(list_sweeps(db)) == 1  # refused before anything was drawn or stored


def test_run_at_a_quantile_puts_every_uncertain_input_at_its_own_quantile(tmp_path):
    from fab2token.api import run_file

    res = run_file(ROOT / "examples" / "uncertain.yaml", None, quantile=0.9)
    mfu = res.scenario.workloads.training[0].mfu
    # triangular(0.30, 0.40, 0.45): the 0.9-quantile is 0.45 - sqrt(0.1 x 0.15 x 0.05)
    assert mfu == pytest.approx(0.45 - math.sqrt(0.1 * 0.15 * 0.05))
    assert res.dataset.attrs["scenario_quantile"] == 0.9
    median = run_file(ROOT / "examples" / "uncertain.yaml", None).scenario.workloads.training[0].mfu
    assert median == pytest.approx(0.30 + math.sqrt(0.5 * 0.15 * 0.10))  # below the mode: F(mode) = 2/3
    res = subprocess.run(
        [
            FAB2TOKEN,
            "run",
            str(ROOT / "examples" / "uncertain.yaml"),
            "--quantile",
            "0.9",
            "--no-report",
            "--db",
            str(tmp_path / "db.duckdb"),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0 and "each one's own 0.9-quantile" in res.stdout
    res = subprocess.run(
        [
            FAB2TOKEN,
            "run",
            str(ROOT / "examples" / "uncertain.yaml"),
            "--quantile",
            "1",
            "--no-report",
            "--db",
            str(tmp_path / "db.duckdb"),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "quantile (--quantile): got 1.0; a finite number in (0, 1)" in res.stderr


def test_default_chunks_are_sized_to_the_scenarios_work():
    from fab2token.sweep.execute import CHUNK_SITE_MONTHS, DEFAULT_CHUNK_DRAWS, MAX_CHUNK_DRAWS, default_chunk_draws

    assert default_chunk_draws(48, 100_000) == CHUNK_SITE_MONTHS // 48  # 2 sites x 24 months: 1,000 draws a chunk
    assert default_chunk_draws(1, 100_000) == MAX_CHUNK_DRAWS  # a tiny scenario: capped
    assert default_chunk_draws(10 * 120 * 10, 100_000) == DEFAULT_CHUNK_DRAWS  # a large one: never below the floor
    assert default_chunk_draws(48, 4_000, workers=2) == 500  # each of 2 workers gets 4 chunks
    assert default_chunk_draws(48, 100, workers=2) == DEFAULT_CHUNK_DRAWS
    assert default_chunk_draws(48, 100_000, remote=True) == DEFAULT_CHUNK_DRAWS  # a remote cluster's size is unknown


def test_a_default_chunk_is_stored_and_kept_on_resume(tmp_path):
    db = tmp_path / "db.duckdb"
    run = run_sweep(ROOT / "examples" / "uncertain.yaml", db, draws=1_200, seed=1)
    assert run.chunks_computed == 2  # 1,000 + 200 draws of 48 site-months
    again = run_sweep(None, db, resume=run.sweep_id)
    assert (again.chunks_computed, again.chunks_stored_before) == (0, 2)
