"""Uncertain inputs (issue 13, the input side): distributions in a scenario file, read, checked, sampled.

Sampling tolerances are K standard errors of the statistic compared (the standard error stated next to each test):
with K = 5 a correct sampler fails a check with probability ~6e-7 whatever the seed, while an error of a few
per cent in a mean, a quantile or a weight fails it outright at the draw counts used here. The seeds are fixed, so
every run draws the same numbers.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from fab2token.cli import app
from fab2token.errors import ScenarioError
from fab2token.scenario import parse_scenario
from fab2token.scenario.distributions import (
    Correlation,
    Dist,
    find_distributions,
    parse_spec,
    quantile_data,
    sample,
)
from fab2token.scenario.fields import month_number
from fab2token.scenario.normal import norm_cdf, norm_ppf
from fab2token.scenario.uncertain import NO_UNCERTAINTY, read_uncertain, uncertain_inputs

K = 5.0  # standard errors allowed between a sample statistic and its closed form
N = 200_000
runner = CliRunner()


def _dist(spec: dict) -> Dist:
    dist, issues = parse_spec(spec, "x")
    assert not issues, issues
    assert dist is not None
    return dist


def _draws(spec: dict, n: int = N, seed: int = 7) -> np.ndarray:
    return sample({"x": _dist(spec)}, n, seed)["x"]


def _ecdf_matches(x: np.ndarray, points: list[float], cdf) -> None:
    """The share of draws at or below each point vs the CDF there; SE = sqrt(F (1 - F) / n)."""
    for p in points:
        f = cdf(p)
        se = math.sqrt(f * (1 - f) / len(x))
        assert abs(np.mean(x <= p) - f) <= K * se + 1e-12, (p, np.mean(x <= p), f)


def _mean_matches(x: np.ndarray, mean: float, sd: float) -> None:
    """Sample mean vs the closed-form mean; SE = sd / sqrt(n)."""
    assert abs(x.mean() - mean) <= K * sd / math.sqrt(len(x)), (x.mean(), mean)


# --- the standard normal, vectorised ------------------------------------------------------------------------------


def test_norm_cdf_matches_math_erfc_to_1e13_relative_including_the_tails():
    z = np.linspace(-37.0, 37.0, 20_001)
    exact = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in z])
    assert np.max(np.abs(norm_cdf(z) / exact - 1.0)) < 1e-13


def test_norm_ppf_inverts_norm_cdf_and_gives_the_textbook_quantiles():
    assert float(norm_ppf(0.5)) == 0.0
    assert float(norm_ppf(0.975)) == pytest.approx(1.959963984540054, abs=1e-14)
    assert float(norm_ppf(0.9)) == pytest.approx(1.2815515655446004, abs=1e-14)
    assert float(norm_ppf(0.1)) == -float(norm_ppf(0.9))
    u = np.concatenate([np.geomspace(1e-300, 0.5, 2000), 1 - np.geomspace(1e-15, 0.5, 2000)])
    lower = np.minimum(u, 1 - u)
    assert np.max(np.abs(norm_cdf(-np.abs(norm_ppf(u))) / lower - 1)) < 1e-12
    assert np.isneginf(norm_ppf(0.0)) and np.isposinf(norm_ppf(1.0)) and np.isnan(norm_ppf(1.5))


# --- every distribution against its closed form ---------------------------------------------------------------------


def test_normal_mean_and_quantiles():
    x = _draws({"dist": "normal", "mean": 3.0, "sd": 2.0})
    _mean_matches(x, 3.0, 2.0)
    _ecdf_matches(x, [-1.0, 1.0, 3.0, 4.5, 7.0], lambda p: 0.5 * math.erfc(-(p - 3.0) / 2.0 / math.sqrt(2)))


def test_lognormal_by_median_and_p90_reproduces_both():
    d = _dist({"dist": "lognormal", "median": 0.1, "p90": 0.16})
    assert d.quantile(0.5) == 0.1  # exactly: the median is a parameter
    assert d.quantile(0.9) == pytest.approx(0.16, rel=1e-13)
    x = _draws({"dist": "lognormal", "median": 0.1, "p90": 0.16})
    sigma = math.log(1.6) / 1.2815515655446004
    mean = 0.1 * math.exp(sigma**2 / 2)
    _mean_matches(x, mean, mean * math.sqrt(math.exp(sigma**2) - 1))
    _ecdf_matches(x, [0.1, 0.16], lambda p: 0.5 if p == 0.1 else 0.9)


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "lognormal", "p10": 0.0625, "p90": 0.16},
        {"dist": "lognormal", "mu": math.log(0.1), "sigma": math.log(1.6) / 1.2815515655446004},
        {"dist": "lognormal", "median": 0.1, "p97.5": 0.1 * 1.6 ** (1.959963984540054 / 1.2815515655446004)},
    ],
)
def test_lognormal_by_other_points_is_the_same_distribution(spec):
    d = _dist(spec)
    assert d.quantile(0.5) == pytest.approx(0.1, rel=1e-12)
    assert d.quantile(0.9) == pytest.approx(0.16, rel=1e-12)


def _triangular_cdf(a: float, c: float, b: float):
    def cdf(x: float) -> float:
        if x <= a:
            return 0.0
        if x <= c:
            return (x - a) ** 2 / ((b - a) * (c - a))
        return 1.0 - (b - x) ** 2 / ((b - a) * (b - c)) if x < b else 1.0

    return cdf


def test_triangular_mean_and_cdf():
    a, c, b = 200.0, 300.0, 320.0
    x = _draws({"dist": "triangular", "low": a, "mode": c, "high": b})
    var = (a * a + b * b + c * c - a * b - a * c - b * c) / 18
    _mean_matches(x, (a + b + c) / 3, math.sqrt(var))
    _ecdf_matches(x, [220.0, 260.0, 300.0, 310.0], _triangular_cdf(a, c, b))
    assert x.min() >= a and x.max() <= b


def test_uniform_mean_and_cdf():
    x = _draws({"dist": "uniform", "low": -1.0, "high": 3.0})
    _mean_matches(x, 1.0, 4.0 / math.sqrt(12))
    _ecdf_matches(x, [-0.5, 0.0, 1.0, 2.9], lambda p: (p + 1.0) / 4.0)


def _frequencies_match(x: np.ndarray, probs: dict[float, float]) -> None:
    """Each value's share vs its probability; SE = sqrt(p (1 - p) / n); nothing else is drawn."""
    assert set(np.unique(x)) <= set(probs)
    for value, p in probs.items():
        assert abs(np.mean(x == value) - p) <= K * math.sqrt(p * (1 - p) / len(x)), (value, p)


def test_choice_draws_each_value_with_its_weight():
    x = _draws({"dist": "choice", "values": [3, 1, 2], "weights": [1, 2, 7]})
    _frequencies_match(x, {3.0: 0.1, 1.0: 0.2, 2.0: 0.7})


def test_empirical_draws_each_observation_equally():
    x = _draws({"dist": "empirical", "values": [0.3, 0.5, 0.5, 0.9]})
    _frequencies_match(x, {0.3: 0.25, 0.5: 0.5, 0.9: 0.25})


def test_uniform_month_draws_each_whole_month_equally():
    x = _draws({"dist": "uniform_month", "low": "2027-03", "high": "2027-09"})
    assert x.dtype == np.int64
    low = month_number("2027-03")
    _frequencies_match(x.astype(float), {float(low + i): 1 / 7 for i in range(7)})


def test_triangular_month_draws_whole_months_by_the_triangle():
    a, c, b = month_number("2027-01"), month_number("2027-07"), month_number("2027-10")
    x = _draws({"dist": "triangular_month", "low": "2027-01", "mode": "2027-07", "high": "2027-10"})
    cdf = _triangular_cdf(a, c, b)
    _frequencies_match(x.astype(float), {float(m): cdf(m + 0.5) - cdf(m - 0.5) for m in range(a, b + 1)})


def test_a_count_field_draws_whole_numbers_and_its_median_is_whole(small_dict):
    d = copy.deepcopy(small_dict)
    d["sites"][1]["construction_months"] = {"dist": "triangular", "low": 10, "mode": 12, "high": 18}
    sc = parse_scenario(yaml.safe_dump(d))
    assert sc.sites[1].construction_months == 13  # 18 - sqrt(0.5 * 8 * 6) = 13.10 -> 13
    x = uncertain_inputs(sc).sample(10_000, 3)["sites[1].construction_months"]
    assert np.all(x == np.round(x)) and x.min() >= 10 and x.max() <= 18


# --- reproducible, stable, exact where it should be ---------------------------------------------------------------

SPECS = {
    "a": {"dist": "normal", "mean": 1.0, "sd": 0.5},
    "b": {"dist": "lognormal", "median": 0.1, "p90": 0.16},
    "c": {"dist": "triangular", "low": 1.0, "mode": 2.0, "high": 5.0},
    "d": {"dist": "uniform", "low": 0.0, "high": 1.0},
    "e": {"dist": "choice", "values": [1, 2, 3], "weights": [1, 1, 2]},
    "f": {"dist": "empirical", "values": [4, 5, 6]},
    "g": {"dist": "uniform_month", "low": "2027-03", "high": "2027-09"},
    "h": {"dist": "triangular_month", "low": "2027-01", "mode": "2027-02", "high": "2028-01"},
}
DISTS = {k: _dist(v) for k, v in SPECS.items()}
CORR = (Correlation(("a", "c"), 0.6), Correlation(("c", "g"), -0.3))


def test_draws_are_reproducible_by_seed():
    one, two, other = sample(DISTS, 1000, 42, CORR), sample(DISTS, 1000, 42, CORR), sample(DISTS, 1000, 43, CORR)
    for k in DISTS:
        np.testing.assert_array_equal(one[k], two[k])
    assert not np.array_equal(one["a"], other["a"])


@pytest.mark.parametrize("correlations", [(), CORR])
def test_more_draws_leave_the_first_draws_unchanged(correlations):
    few, many = sample(DISTS, 10, 5, correlations), sample(DISTS, 10_000, 5, correlations)
    for k in DISTS:
        np.testing.assert_array_equal(few[k], many[k][:10])


def test_an_input_draws_the_same_whatever_other_inputs_there_are():
    alone = sample({"c": DISTS["c"]}, 500, 9)["c"]
    np.testing.assert_array_equal(alone, sample(DISTS, 500, 9)["c"])


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        ({"dist": "uniform", "low": 20.0, "high": 20.0}, 20.0),
        ({"dist": "triangular", "low": 0.3, "mode": 0.3, "high": 0.3}, 0.3),
        ({"dist": "normal", "mean": 0.1, "sd": 0}, 0.1),
        ({"dist": "lognormal", "median": 0.1, "p90": 0.1}, 0.1),
        ({"dist": "choice", "values": [0.7]}, 0.7),
        ({"dist": "empirical", "values": [1e6]}, 1e6),
        ({"dist": "uniform_month", "low": "2027-04", "high": "2027-04"}, month_number("2027-04")),
    ],
)
def test_a_one_point_distribution_draws_its_value_exactly(spec, value):
    x = _draws(spec, n=1000)
    assert np.all(x == value)
    assert _dist(spec).quantile(0.5) == (value if not isinstance(value, int) else "2027-04")


def test_a_scenario_of_one_point_distributions_is_the_deterministic_scenario(small_dict):
    point = copy.deepcopy(small_dict)
    point["sites"][0]["grid_power"][1] = {
        "from": {"dist": "uniform_month", "low": "2027-04", "high": "2027-04"},
        "mw": {"dist": "triangular", "low": 40, "mode": 40, "high": 40},
    }
    point["sites"][0]["pue"] = {"dist": "choice", "values": [1.2]}
    point["economics"]["it_utilisation_frac"] = {"dist": "normal", "mean": 0.8, "sd": 0}
    point["supply"]["fab"]["d0_launch_per_cm2"] = {"dist": "lognormal", "median": 0.2, "p90": 0.2}
    deterministic = parse_scenario(yaml.safe_dump(small_dict))
    uncertain = parse_scenario(yaml.safe_dump(point))
    assert len(uncertain_inputs(uncertain)) == 5
    assert uncertain.model_dump() == deterministic.model_dump()


# --- the copula -----------------------------------------------------------------------------------------------------


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


@pytest.mark.parametrize("rank", [0.6, -0.4, 0.9])
def test_the_copula_gives_the_rank_correlation_asked(rank):
    """SE of Spearman's rho: (1 - rho^2) sqrt(1.06 / (n - 3)) (Fieller, Hartley & Pearson 1957)."""
    n = 50_000
    dists = {"d0": _dist(SPECS["b"]), "mw": _dist(SPECS["c"]), "u": _dist(SPECS["d"])}
    x = sample(dists, n, 11, [Correlation(("d0", "mw"), rank)])
    se = (1 - rank**2) * math.sqrt(1.06 / (n - 3))
    assert abs(_spearman(x["d0"], x["mw"]) - rank) <= K * se
    assert abs(_spearman(x["d0"], x["u"])) <= K * math.sqrt(1.06 / (n - 3))  # left independent


def test_the_copula_keeps_each_marginal():
    x = sample(DISTS, N, 13, CORR)["c"]
    _ecdf_matches(x, [1.5, 2.0, 3.0, 4.5], _triangular_cdf(1.0, 2.0, 5.0))


def test_correlations_that_cannot_hold_together_are_refused():
    bad = [Correlation(("a", "c"), 0.9), Correlation(("a", "d"), 0.9), Correlation(("c", "d"), -0.9)]
    with pytest.raises(ScenarioError, match="not positive definite"):
        sample(DISTS, 10, 0, bad)


# --- quantile data --------------------------------------------------------------------------------------------------


def test_quantile_data_replaces_every_distribution_and_drops_correlations():
    data = {
        "a": {"dist": "uniform", "low": 0, "high": 10},
        "b": [{"from": {"dist": "uniform_month", "low": "2027-03", "high": "2027-09"}, "mw": 5}],
        "correlations": [{"between": ["a", "b[0].from"], "rank": 0.5}],
    }
    assert set(find_distributions(data)) == {"a", "b[0].from"}
    assert quantile_data(data) == {"a": 5.0, "b": [{"from": "2027-06", "mw": 5}]}
    assert quantile_data(data, 0.0) == {"a": 0.0, "b": [{"from": "2027-03", "mw": 5}]}
    assert quantile_data(data, 1.0) == {"a": 10.0, "b": [{"from": "2027-09", "mw": 5}]}
    with pytest.raises(ScenarioError, match="q"):
        quantile_data(data, 1.5)


# --- loading, validating, running -------------------------------------------------------------------------------------


def _uncertain_scenario(small_dict: dict) -> dict:
    d = copy.deepcopy(small_dict)
    d["supply"]["fab"]["d0_launch_per_cm2"] = {"dist": "lognormal", "median": 0.2, "p90": 0.3}
    d["sites"][0]["grid_power"][1] = {
        "from": {"dist": "uniform_month", "low": "2027-03", "high": "2027-09"},
        "mw": {"dist": "triangular", "low": 30, "mode": 40, "high": 45},
    }
    d["correlations"] = [{"between": ["supply.fab.d0_launch_per_cm2", "sites[0].grid_power[1].mw"], "rank": 0.5}]
    return d


def test_a_scenario_with_distributions_loads_as_its_median(small_dict):
    sc = parse_scenario(yaml.safe_dump(_uncertain_scenario(small_dict)))
    found = uncertain_inputs(sc)
    assert set(found.dists) == {
        "supply.fab.d0_launch_per_cm2",
        "sites[0].grid_power[1].from",
        "sites[0].grid_power[1].mw",
    }
    assert found.correlations == (Correlation(("supply.fab.d0_launch_per_cm2", "sites[0].grid_power[1].mw"), 0.5),)
    assert sc.supply.fab.d0_launch_per_cm2 == 0.2
    assert sc.sites[0].grid_power[1].from_ == "2027-06"
    assert sc.sites[0].grid_power[1].mw == pytest.approx(30 + math.sqrt(0.5 * 15 * 10))  # the mode is past the middle


def test_a_deterministic_scenario_loads_exactly_as_before(small_dict):
    same, found, issues = read_uncertain(small_dict, "x.yaml")
    assert same is small_dict and found is NO_UNCERTAINTY and issues == []
    assert len(uncertain_inputs(parse_scenario(yaml.safe_dump(small_dict)))) == 0


def test_validate_counts_the_uncertain_inputs_and_run_says_it_uses_medians(small_dict, write_yaml, tmp_path):
    path = write_yaml(_uncertain_scenario(small_dict))
    ok = runner.invoke(app, ["validate", str(path)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith("OK:") and "3 uncertain inputs" in ok.stdout
    res = runner.invoke(app, ["run", str(path), "--db", str(tmp_path / "r.duckdb"), "--no-report"])
    assert res.exit_code == 0, res.output
    assert "scenario has 3 uncertain inputs; this run uses their medians" in res.stdout


def _set(data: dict, path: str, value: object) -> None:
    parts = [int(p) if p.isdigit() else p for p in path.replace("[", ".").replace("]", "").split(".")]
    for part in parts[:-1]:
        data = data[part]
    data[parts[-1]] = value


BAD = [
    # (field, spec, the path the error names, a word of what is expected)
    ("sites[0].grid_power[0].mw", {"dist": "normal", "mean": 20, "sd": -1}, "sites[0].grid_power[0].mw.sd", ">= 0"),
    ("sites[0].grid_power[0].mw", {"dist": "uniform", "low": 30, "high": 20}, "sites[0].grid_power[0].mw", "at most"),
    (
        "sites[0].grid_power[0].mw",
        {"dist": "triangular", "low": 10, "mode": 40, "high": 30},
        "sites[0].grid_power[0].mw.mode",
        "within [low, high]",
    ),
    ("sites[0].pue", {"dist": "triangular", "low": 1.3, "mode": 1.2, "high": 1.1}, "sites[0].pue", "at most"),
    (
        "supply.fab.d0_launch_per_cm2",
        {"dist": "lognormal", "median": 0.2, "p100": 0.3},
        "supply.fab.d0_launch_per_cm2.p100",
        "between 0 and 100",
    ),
    (
        "supply.fab.d0_launch_per_cm2",
        {"dist": "lognormal", "median": 0.2, "p0": 0.1},
        "supply.fab.d0_launch_per_cm2.p0",
        "between 0 and 100",
    ),
    (
        "supply.fab.d0_launch_per_cm2",
        {"dist": "lognormal", "median": 0.2, "p90": 0.1},
        "supply.fab.d0_launch_per_cm2.p90",
        "lower percentile",
    ),
    ("supply.fab.d0_launch_per_cm2", {"dist": "lognormal", "median": 0.2}, "supply.fab.d0_launch_per_cm2", "two"),
    ("sites[0].grid_power[0].mw", {"dist": "gamma", "k": 2}, "sites[0].grid_power[0].mw.dist", "one of normal"),
    (
        "sites[0].grid_power[0].mw",
        {"dist": "choice", "values": [10, 20], "weights": [0, 0]},
        "sites[0].grid_power[0].mw.weights",
        "positive",
    ),
    (
        "sites[0].grid_power[0].mw",
        {"dist": "choice", "values": [10, 20], "weights": [1, -1]},
        "sites[0].grid_power[0].mw.weights[1]",
        ">= 0",
    ),
    ("sites[0].grid_power[0].mw", {"dist": "empirical", "values": []}, "sites[0].grid_power[0].mw.values", "list"),
    (
        "sites[0].grid_power[0].mw",
        {"dist": "empirical", "values": ["lots", 20]},
        "sites[0].grid_power[0].mw.values[0]",
        "plain number",
    ),
    (
        "sites[0].pue",
        {"dist": "normal", "mean": {"dist": "uniform", "low": 1.1, "high": 1.3}, "sd": 0.01},
        "sites[0].pue.mean",
        "plain number",
    ),
    ("sites[0].pue", {"dist": "uniform", "low": 1.1, "high": 1.3, "mode": 1.2}, "sites[0].pue", "unknown key"),
    ("sites[0].pue", {"dist": "normal", "mean": 1.2, "sd": True}, "sites[0].pue.sd", "plain number"),
    ("sites[0].name", {"dist": "choice", "values": [1, 2]}, "sites[0].name", "text"),
    ("sites[0].cooling", {"dist": "uniform", "low": 0, "high": 1}, "sites[0].cooling", "a name"),
    ("sites[1].ppa_take_or_pay", {"dist": "uniform", "low": 0, "high": 1}, "sites[1].ppa_take_or_pay", "a flag"),
    ("sites[0].grid_power[0].from", {"dist": "uniform", "low": 0, "high": 1}, "sites[0].grid_power[0].from", "month"),
    ("sites[0].pue", {"dist": "uniform_month", "low": "2027-01", "high": "2027-03"}, "sites[0].pue", "numbers"),
    ("sites[0].pue", {"dist": "uniform", "low": 0.5, "high": 1.3}, "sites[0].pue", "range"),
    (
        "supply.fab.d0_launch_per_cm2",
        {"dist": "normal", "mean": 0.2, "sd": 0.1},
        "supply.fab.d0_launch_per_cm2",
        "0.1%",
    ),
    ("horizon.months", {"dist": "uniform", "low": 12, "high": 24}, "horizon.months", "horizon"),
    ("sites[0].grid_power", {"dist": "normal", "mean": 1, "sd": 0}, "sites[0].grid_power", "plain value"),
    (
        "sites[0].construction_start",
        {"dist": "uniform_month", "low": "2025-13", "high": "2026-01"},
        "sites[0].construction_start.low",
        "YYYY-MM",
    ),
]


@pytest.mark.parametrize(("field", "spec", "path", "expected"), BAD, ids=[f"{b[0]}:{b[3]}" for b in BAD])
def test_a_bad_spec_is_an_input_error_naming_its_path(small_dict, write_yaml, field, spec, path, expected):
    d = copy.deepcopy(small_dict)
    _set(d, field, spec)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(yaml.safe_dump(d), "x.yaml")
    assert [i.path for i in info.value.issues] == [path], info.value
    assert expected in info.value.issues[0].expected
    res = runner.invoke(app, ["validate", str(write_yaml(d))])
    assert res.exit_code == 2
    assert path in res.stderr


BAD_CORRELATIONS = [
    ([{"between": ["sites[0].pue", "nope"], "rank": 0.5}], "correlations[0].between", "uncertain inputs"),
    ([{"between": ["sites[0].pue", "sites[1].pue"], "rank": 1.0}], "correlations[0].rank", "strictly between"),
    ([{"between": ["sites[0].pue", "sites[0].pue"], "rank": 0.5}], "correlations[0].between", "two different"),
    ({"between": ["sites[0].pue", "sites[1].pue"]}, "correlations", "a list"),
    ([{"between": ["sites[0].pue", "sites[1].pue"], "rho": 0.5}], "correlations[0]", "a list"),
    (
        [
            {"between": ["sites[0].pue", "sites[1].pue"], "rank": 0.2},
            {"between": ["sites[1].pue", "sites[0].pue"], "rank": 0.3},
        ],
        "correlations[1].between",
        "once",
    ),
    (
        [
            {"between": ["sites[0].pue", "sites[1].pue"], "rank": 0.9},
            {"between": ["sites[0].pue", "economics.it_utilisation_frac"], "rank": 0.9},
            {"between": ["sites[1].pue", "economics.it_utilisation_frac"], "rank": -0.9},
        ],
        "correlations",
        "not positive definite",
    ),
]


@pytest.mark.parametrize(("correlations", "path", "expected"), BAD_CORRELATIONS)
def test_bad_correlations_are_input_errors(small_dict, write_yaml, correlations, path, expected):
    d = copy.deepcopy(small_dict)
    d["sites"][0]["pue"] = {"dist": "uniform", "low": 1.1, "high": 1.3}
    d["sites"][1]["pue"] = {"dist": "uniform", "low": 1.3, "high": 1.5}
    d["economics"]["it_utilisation_frac"] = {"dist": "uniform", "low": 0.5, "high": 0.9}
    d["correlations"] = correlations
    with pytest.raises(ScenarioError) as info:
        parse_scenario(yaml.safe_dump(d), "x.yaml")
    assert [i.path for i in info.value.issues] == [path], info.value
    assert expected in info.value.issues[0].expected
    assert runner.invoke(app, ["validate", str(write_yaml(d))]).exit_code == 2


def test_distribution_problems_are_listed_with_every_other_problem(small_dict):
    d = copy.deepcopy(small_dict)
    d["sites"][0]["pue"] = {"dist": "normal", "mean": 1.2, "sd": -0.1}
    d["sites"][1]["cooling"] = "water"
    d["economics"]["it_utilisation_frac"] = {"dist": "uniform", "low": 0.5, "high": 0.9}  # fine
    with pytest.raises(ScenarioError) as info:
        parse_scenario(yaml.safe_dump(d), "x.yaml")
    assert sorted(i.path for i in info.value.issues) == ["sites[0].pue.sd", "sites[1].cooling"]


def test_the_fab_shorthand_under_supply_takes_distributions(small_dict):
    d = copy.deepcopy(small_dict)
    fab = d["supply"].pop("fab")
    d["supply"].update(fab)
    d["supply"]["cycle_time_months"] = {"dist": "uniform", "low": 2, "high": 4}  # a count: whole months
    sc = parse_scenario(yaml.safe_dump(d))
    assert sc.supply.fab.cycle_time_months == 3
    assert set(np.unique(uncertain_inputs(sc).sample(3000, 1)["supply.cycle_time_months"])) == {2.0, 3.0, 4.0}


def test_sample_refuses_a_negative_count_or_seed():
    with pytest.raises(ScenarioError, match="n"):
        sample(DISTS, -1)
    with pytest.raises(ScenarioError, match="seed"):
        sample(DISTS, 10, seed=-3)
