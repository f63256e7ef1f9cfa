"""The compute race: allocation rules on hand-solvable cases, conservation on every pool, one player with the world
equal to today's single-buyer run, counterfactuals, the CLI and the page."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fab2token.cli.main import app
from fab2token.engine.simulate import simulate
from fab2token.errors import ScenarioError
from fab2token.race.allocate import RULES, allocate, auction, water_fill
from fab2token.race.run import PLAYER_KEYS, RACE_KEYS, largest_run_flop, run_race
from fab2token.race.world import pool_capacity
from fab2token.scenario import load_scenario
from fab2token.scenario.race import WorldPool
from fab2token.scenario.raceload import apply_counterfactual, load_race, race_from_data
from fab2token.scenario.timeline import month_axis

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RACE = EXAMPLES / "race.yaml"


def _alloc(rule, cap, req, contract=(0.0, 0.0), share=(1.0, 1.0), bid=(0.0, 0.0)):
    g, p = allocate(
        rule, np.array(cap, float), np.array([req], float), np.array([contract], float), np.array(share), np.array(bid)
    )
    return g[0], p


# ---- the rules on cases solved by hand ----


def test_pro_rata_by_hand():
    g, price = _alloc("pro-rata", [100.0], [80.0, 120.0])
    assert g == pytest.approx([40.0, 60.0])
    assert math.isnan(price[0])


def test_contracts_come_first_then_the_rule_on_the_rest():
    # A holds a 70 contract: 70 first; the 30 left split pro-rata over the rest asked, 10 and 120
    g, _ = _alloc("pro-rata", [100.0], [80.0, 120.0], contract=(70.0, 0.0))
    assert g == pytest.approx([70.0 + 30.0 * 10 / 130, 30.0 * 120 / 130])
    # contracts above the pool are themselves scaled down pro-rata, nothing else served
    g, _ = _alloc("pro-rata", [100.0], [80.0, 120.0], contract=(80.0, 120.0))
    assert g == pytest.approx([40.0, 60.0])


def test_shares_water_fill_by_hand():
    # equal shares: A needs 30 (under its half), so B gets the 70 left
    g, _ = _alloc("shares", [100.0], [30.0, 120.0])
    assert g == pytest.approx([30.0, 70.0])
    # shares 1:3, both asking more than their share: 25 and 75
    g, _ = _alloc("shares", [100.0], [50.0, 120.0], share=(1.0, 3.0))
    assert g == pytest.approx([25.0, 75.0])
    # enough for everyone: every request met
    g, _ = _alloc("shares", [500.0], [50.0, 120.0], share=(1.0, 3.0))
    assert g == pytest.approx([50.0, 120.0])


def test_market_by_hand():
    # B bids more: served in full; A gets the rest; price = the lowest bid served (A's)
    g, price = _alloc("market", [100.0], [80.0, 50.0], bid=(10.0, 20.0))
    assert g == pytest.approx([50.0, 50.0])
    assert price[0] == 10.0
    # equal bids share pro-rata
    g, _ = _alloc("market", [100.0], [80.0, 50.0], bid=(10.0, 10.0))
    assert g == pytest.approx([100 * 80 / 130, 100 * 50 / 130])
    # a pool that does not bind has no price
    g, price = _alloc("market", [200.0], [80.0, 50.0], bid=(10.0, 20.0))
    assert g == pytest.approx([80.0, 50.0]) and math.isnan(price[0])
    # the higher bidder alone exhausts the pool: the lower bid is not served and does not set the price
    g, price = _alloc("market", [40.0], [80.0, 50.0], bid=(10.0, 20.0))
    assert g == pytest.approx([0.0, 40.0]) and price[0] == 20.0


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="unknown allocation rule"):
        _alloc("lottery", [1.0], [1.0, 1.0])


_amounts = st.floats(0.0, 1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    rule=st.sampled_from(RULES),
    players=st.integers(1, 5),
    data=st.data(),
)
def test_conservation_and_work_conserving(rule, players, data):
    """No player gets more than it asked, the pool is never exceeded, and a rule leaves nothing unused that someone
    asked for: grants sum to min(capacity, total asked), in every month."""
    months = 4
    cap = np.array(data.draw(st.lists(_amounts, min_size=months, max_size=months)))
    req = np.array(
        data.draw(st.lists(st.lists(_amounts, min_size=players, max_size=players), min_size=months, max_size=months))
    )
    contract = np.array(
        data.draw(st.lists(st.lists(_amounts, min_size=players, max_size=players), min_size=months, max_size=months))
    )
    share = np.array(data.draw(st.lists(st.floats(0.01, 100.0), min_size=players, max_size=players)))
    bid = np.array(data.draw(st.lists(st.sampled_from([0.0, 5.0, 10.0, 20.0]), min_size=players, max_size=players)))
    g, _ = allocate(rule, cap, req, contract, share, bid)
    tol = 1e-9 * np.maximum(1.0, cap)
    assert np.all(g >= -1e-9) and np.all(g <= req * (1 + 1e-12) + 1e-9)
    assert np.all(g.sum(axis=1) <= cap + tol * players)
    assert g.sum(axis=1) == pytest.approx(np.minimum(cap, req.sum(axis=1)), rel=1e-9, abs=1e-6)


def test_water_fill_and_auction_work_on_leading_dimensions():
    cap = np.array([[100.0, 10.0], [0.0, 1e9]])
    req = np.broadcast_to(np.array([50.0, 120.0]), (2, 2, 2))
    g = water_fill(cap, req, np.array([1.0, 3.0]))
    assert g.shape == (2, 2, 2)
    assert g[0, 0] == pytest.approx([25.0, 75.0]) and g[1, 0] == pytest.approx([0.0, 0.0])
    a, price = auction(cap, req, np.array([1.0, 2.0]))
    assert a[0, 0] == pytest.approx([0.0, 100.0]) and price[0, 0] == 2.0 and math.isnan(price[1, 1])


# ---- the world and the players ----


@pytest.fixture(scope="module")
def example():
    loaded = load_race(RACE)
    return loaded, run_race(loaded)


def test_every_pool_conserves_in_every_month(example):
    _, result = example
    assert result.pools, "the example shares every kind of pool"
    assert {p.resource for p in result.pools} == {"wafers", "packaging", "hbm", "market"}
    for p in result.pools:
        assert np.all(p.granted.sum(axis=0) <= p.capacity * (1 + 1e-12) + 1e-6), p.key
        assert np.all(p.granted <= p.requested * (1 + 1e-12) + 1e-6), p.key


def test_what_the_players_get_is_what_their_engines_use(example):
    """Market grants are what each player's fleet receives; packaging grants cap each player's assembled units."""
    loaded, result = example
    market = next(p for p in result.pools if p.resource == "market")
    for i, player in enumerate(result.players):
        ds = player.dataset
        types = [str(t) for t in ds["accelerator"].values]
        bought = sum(
            ds["accelerators_delivered_by_type"].values[types.index(t)] for t in types if t in ("GB200", "GB300")
        )
        assert np.all(bought <= market.granted[i] + 1e-6)
    pkg = next(p for p in result.pools if p.resource == "packaging")
    assert np.all(pkg.granted.sum(axis=0) <= pkg.capacity + 1e-6)
    scarce = pkg.granted.sum(axis=0) < pkg.requested.sum(axis=0) - 1e-6
    assert scarce.any(), "the example's packaging binds"
    # under the market rule the highest bidder is served first: the fab builder (bid 15,000) gets the largest share
    got = pkg.granted.sum(axis=1) / np.maximum(pkg.requested.sum(axis=1), 1e-9)
    names = [p.name for p in result.players]
    assert pkg.price_usd[scarce].min() >= 9000.0
    assert got[names.index("fab-builder")] >= got[names.index("hyperscaler")]


def test_auction_payments_enter_each_players_spend(example):
    """A player pays each market-rule pool's clearing price on what it is granted there, and its spend is its
    engine's capex, opex and fab capex plus those payments."""
    _, result = example
    for i, p in enumerate(result.players):
        paid = sum(float(np.nansum(pool.granted[i] * pool.price_usd)) for pool in result.pools if pool.rule == "market")
        d = p.to_dict()
        assert d["auction_paid_usd_total"] == pytest.approx(paid, rel=1e-12)
        by_month = np.array(d["auction_paid_usd_by_month"])  # month by month, the same total
        assert by_month.shape == (len(result.month_labels),) and by_month.sum() == pytest.approx(paid, rel=1e-9)
        assert np.all(by_month >= 0)
        s = p.summary
        own = s["capex_usd_total"] + s["opex_usd_total"] + s["fab_capex_usd_total"]
        assert d["spend_usd_total"] == pytest.approx(own + paid, rel=1e-12)
    assert any(p.to_dict()["auction_paid_usd_total"] > 0 for p in result.players)  # packaging binds at a price


def _single_player_race(tmp_path: Path, world: dict) -> Path:
    race = {
        "name": "alone",
        "horizon": {"start": "2026-01", "months": 24},
        "world": world,
        "players": [{"name": "only", "scenario": str(EXAMPLES / "small.yaml")}],
    }
    path = tmp_path / "alone.yaml"
    path.write_text(yaml.safe_dump(race))
    return path


@pytest.mark.parametrize(
    "world",
    [
        {},  # nothing shared: the scenario's own figures
        {  # the world holds exactly what the scenario states for itself, or more
            "wafers": [{"key": "N4", "capacity": [{"from": "2025-01", "per_month": 70}]}],
            "packaging": {"capacity": [{"from": "2026-01", "per_month": 30}, {"from": "2026-10", "per_month": 120}]},
            "hbm": {"capacity": [{"from": "2026-01", "per_month": 8000 * 16.0}]},
        },
    ],
    ids=["no-world", "world-equal-to-its-own"],
)
def test_one_player_with_everything_equals_the_single_buyer_run(tmp_path, world):
    result = run_race(load_race(_single_player_race(tmp_path, world)))
    sc, _ = load_scenario(EXAMPLES / "small.yaml")
    xr.testing.assert_identical(result.players[0].dataset, simulate(sc))


def test_a_smaller_world_holds_a_single_player_back(tmp_path):
    world = {"packaging": {"capacity": [{"from": "2026-01", "per_month": 15}]}}
    result = run_race(load_race(_single_player_race(tmp_path, world)))
    sc, _ = load_scenario(EXAMPLES / "small.yaml")
    alone = simulate(sc)
    got = result.players[0].dataset["accelerators_delivered"].values
    assert got.sum() < alone["accelerators_delivered"].values.sum()
    assert "world packaging" in result.players[0].binding


def test_wafers_are_shared_by_the_month_they_start(tmp_path):
    """Two players with cycle times of 2 and 5 months on one 1,000-wafer pool: every start month's grants sum to
    the pool, and each player's wafers out are its grants shifted by its own cycle time."""
    sc = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    sc.pop("horizon")
    fast, slow = copy.deepcopy(sc), copy.deepcopy(sc)
    for s, cycle, starts in ((fast, 2, 800), (slow, 5, 600)):
        s["supply"]["fab"] = {
            "wafer_starts": [{"from": "2020-01", "wafers_per_month": starts}],
            "cycle_time_months": cycle,
        }
        s["supply"].pop("packaging")
        s["supply"].pop("hbm")
    race = {
        "horizon": {"start": "2026-01", "months": 12},
        "world": {"wafers": [{"key": "N4", "capacity": [{"from": "2020-01", "per_month": 1000}]}]},
        "players": [{"name": "fast", "scenario": fast}, {"name": "slow", "scenario": slow}],
    }
    loaded = race_from_data(race, "<test>", tmp_path)
    result = run_race(loaded)
    pool = result.pools[0]
    assert pool.granted.sum(axis=0) == pytest.approx(np.full(12, 1000.0))
    assert pool.granted[0] == pytest.approx(np.full(12, 800 * 1000 / 1400))
    for p, cycle in zip(result.players, (2, 5), strict=True):
        assert p.dataset["wafers_out"].values == pytest.approx(np.full(12, pool.granted[0 if cycle == 2 else 1, 0]))


def test_dropping_a_player_is_the_race_without_it(example):
    loaded, _ = example
    k = next(i for i, c in enumerate(loaded.race.counterfactuals) if c.drop)
    variant = run_race(apply_counterfactual(loaded, k), counterfactuals=False)
    data = copy.deepcopy(loaded.data)
    data.pop("counterfactuals")
    data["players"] = [p for p in data["players"] if p["name"] != loaded.race.counterfactuals[k].player]
    direct = run_race(race_from_data(data, "<test>", loaded.folder), counterfactuals=False)
    for a, b in zip(variant.players, direct.players, strict=True):
        xr.testing.assert_identical(a.dataset, b.dataset)


def test_counterfactuals_are_reported_beside_the_race(example):
    _, result = example
    d = result.to_dict()
    names = [c["name"] for c in d["counterfactuals"]]
    assert names == ["no-own-fab", "without-hyperscaler"]
    no_fab = d["counterfactuals"][0]["players"]
    assert [p["name"] for p in no_fab] == [p["name"] for p in d["players"]]
    fb = next(p for p in no_fab if p["name"] == "fab-builder")
    race_fb = next(p for p in d["players"] if p["name"] == "fab-builder")
    assert fb["compute_flop_per_s_end"][0] == race_fb["compute_flop_per_s_end"]
    assert next(p for p in d["counterfactuals"][1]["players"] if p["name"] == "hyperscaler")["in_variant"] is False


def test_largest_run_by_hand():
    # clusters of 1, 3, 2 FLOP/s over months of 10 s: by month 3 the best run is months 2-3 at 2 FLOP/s (40)
    # or month 2 alone at 3 (30) or all three at 1 (30): 40
    flop = largest_run_flop(np.array([1.0, 3.0, 2.0]), np.array([10.0, 10.0, 10.0]))
    assert flop == pytest.approx([10.0, 30.0, 40.0])
    # not before month 3: only month 3 itself
    assert largest_run_flop(np.array([1.0, 3.0, 2.0]), np.full(3, 10.0), first=2) == pytest.approx([0, 0, 20.0])


def test_target_month_is_the_first_the_largest_run_reaches_it(example):
    _, result = example
    for p in result.players:
        for t in p.targets:
            assert t["met_month"] is not None  # the example's targets are met within the horizon
            k = result.month_labels.index(t["met_month"])
            done = p.largest_run_flop * t["mfu"] * t["goodput"]
            assert done[k] >= t["flops"] * (1 - 1e-12)
            assert k == 0 or done[k - 1] < t["flops"]  # the month before could not
            assert t["shortfall_frac_at_deadline"] == 0.0  # met by the deadline: nothing short


def test_catalog_capacity_levels(example):
    axis = month_axis("2026-01", 12)
    central = pool_capacity("packaging", WorldPool(capacity="catalog"), axis)
    low = pool_capacity("packaging", WorldPool(capacity="catalog", level="low"), axis)
    high = pool_capacity("packaging", WorldPool(capacity="catalog", level="high"), axis)
    assert np.all(low <= central) and np.all(central <= high) and np.all(low < high)
    assert central[0] == 77500.0  # the 2025-12 step holds through 2026-11
    half = pool_capacity("packaging", WorldPool(capacity="catalog", available_frac=0.5), axis)
    assert half == pytest.approx(central / 2)


# ---- the command ----


def test_race_command_json_and_page(tmp_path):
    page = tmp_path / "race.html"
    r = CliRunner().invoke(app, ["race", str(RACE), "--json", "--report", str(page)])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert set(d) == {*RACE_KEYS, "report"}
    assert all(tuple(p) == PLAYER_KEYS for p in d["players"])
    assert [p["name"] for p in d["players"]] == ["lab", "hyperscaler", "fab-builder"]
    text = page.read_text()
    assert "The race" in text and "fab-builder" in text and "Counterfactuals" in text
    r = CliRunner().invoke(app, ["race", str(RACE)])
    assert r.exit_code == 0 and "world pools" in r.output and "counterfactual no-own-fab" in r.output


# ---- draws of the world ----


def test_catalog_levels_as_quantiles_are_monotone_and_within_the_range():
    axis = month_axis("2026-01", 24)
    levels = [1e-6, 0.1, 0.5, 0.9, 1 - 1e-6]
    caps = np.stack([pool_capacity("packaging", WorldPool(level=q), axis) for q in levels])
    assert np.all(np.diff(caps, axis=0) >= 0)
    low = pool_capacity("packaging", WorldPool(level="low"), axis)
    high = pool_capacity("packaging", WorldPool(level="high"), axis)
    assert caps[0] == pytest.approx(low, rel=1e-2) and caps[-1] == pytest.approx(high, rel=1e-2)
    # a row without a published range (the market pool) stays at its figure at every level
    m = [pool_capacity("market", WorldPool(key="nvidia-blackwell", level=q), axis) for q in (0.1, 0.9)]
    assert m[0] == pytest.approx(m[1])


def test_race_draws_are_reproducible_and_conserve(example):
    from fab2token.race.draws import _with_levels, run_race_draws, uncertain_pools

    loaded, _ = example
    a = run_race_draws(loaded, 3, seed=7)
    assert a == run_race_draws(loaded, 3, seed=7)
    assert a["uncertain_pools"] == ["world.wafers[0]", "world.market[0]", "world.packaging", "world.hbm"]
    for t in range(len(a["players"][0]["targets"])):  # in every draw someone is first when anyone meets it
        firsts = sum(p["targets"][t]["first_frac"] for p in a["players"])
        met = max(p["targets"][t]["met_within_horizon_frac"] for p in a["players"])
        assert firsts >= met - 1e-12
    for q in (1e-9, 1 - 1e-9):  # the range's two ends: every pool conserves there too
        result = run_race(_with_levels(loaded, dict.fromkeys(uncertain_pools(loaded), q)), counterfactuals=False)
        for p in result.pools:
            assert np.all(p.granted.sum(axis=0) <= p.capacity * (1 + 1e-12) + 1e-6), (q, p.key)


def test_race_command_with_draws(tmp_path):
    r = CliRunner().invoke(app, ["race", str(RACE), "--json", "--draws", "2", "--seed", "1"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)["draws"]
    assert d["draws"] == 2 and {"first_frac", "met_month_p50"} <= set(d["players"][0]["targets"][0])
    r = CliRunner().invoke(app, ["race", str(RACE), "--draws", "-1"])
    assert r.exit_code == 2 and "--draws" in r.output


# ---- best responses through the planner ----


def _two_planners(tmp_path: Path, per_month: float, auction: tuple[float, float] | None = None) -> object:
    """Two players with the same plan on one B200 pool; ``auction``: the market rule with these bids."""
    plan_example = str(EXAMPLES / "plan-two-sites.yaml")
    race = {
        "horizon": {"start": "2026-01", "months": 24},
        "world": {
            "market": [
                {
                    "key": "blackwell",
                    "capacity": [{"from": "2026-01", "per_month": per_month}],
                    "accelerators": ["B200"],
                }
            ]
        },
        "players": [{"name": "a", "scenario": plan_example}, {"name": "b", "scenario": plan_example}],
    }
    if auction is not None:
        race["allocation"] = {"market": "market"}
        for p, bid in zip(race["players"], auction, strict=True):
            p["claims"] = {"market": {"bid_usd": bid}}
    return race_from_data(race, "<test>", tmp_path)


@pytest.fixture(scope="module")
def responses(tmp_path_factory):
    from fab2token.race.respond import best_responses

    loaded = _two_planners(tmp_path_factory.mktemp("br"), 4000.0)
    return loaded, best_responses(loaded)


def test_best_responses_share_the_pool_and_converge(responses):
    """Two players wanting up to 3,000 B200 a month each from a 4,000 pool: what they buy never exceeds the pool in
    any month, and the iteration ends when neither changes its plan."""
    _, br = responses
    assert br["converged"] and br["rounds"] >= 2 and br["change_by_round"][-1] <= br["rtol"]
    a, b = (np.array(p["bought_by_pool"]["blackwell"]) for p in br["players"])
    assert np.all(a + b <= 4000.0 + 1e-6)
    assert (a + b).max() == pytest.approx(4000.0)  # the pool binds in some month
    assert all(p["status"] == "optimal" for p in br["players"])


def test_the_first_player_alone_would_plan_the_same(responses):
    """Player a plans first with the whole pool (more than its own 3,000 a month): its best response is its plain
    plan, to the dollar; b pays more for the same targets with what a leaves it."""
    from fab2token.plan import plan

    loaded, br = responses
    alone = plan(loaded.scenarios[0])
    a, b = br["players"]
    assert a["objective_usd"] == pytest.approx(alone.objective_usd, rel=1e-9)
    assert b["objective_usd"] > a["objective_usd"]


def test_under_the_market_rule_the_higher_bid_plans_first_and_both_pay_the_clearing_price(tmp_path, responses):
    """b bids 20, a 10: b plans first and buys as a did when it planned first; where their purchases take the whole
    pool, both pay the lower bid (10) on what they bought, and nothing elsewhere; the cost with auctions is the
    plan's objective plus the payments discounted at the player's rate (8 % a year)."""
    from fab2token.economics.costs import discount_factor
    from fab2token.race.respond import best_responses

    _, plain = responses
    br = best_responses(_two_planners(tmp_path, 4000.0, auction=(10.0, 20.0)))
    assert br["converged"] and br["order"] == ["b", "a"]
    a, b = br["players"]
    first = plain["players"][0]
    assert b["objective_usd"] == pytest.approx(first["objective_usd"], rel=1e-9)
    assert a["objective_usd"] == pytest.approx(plain["players"][1]["objective_usd"], rel=1e-6)
    price = np.array(br["clearing_price_usd_by_pool"]["blackwell"])
    got = [np.array(p["bought_by_pool"]["blackwell"]) for p in (a, b)]
    binds = got[0] + got[1] >= 4000.0 * (1 - 1e-9)
    assert binds.any() and np.all(price[binds] == 10.0) and np.all(price[~binds] == 0.0)
    for p, g in zip((a, b), got, strict=True):
        paid = np.array(p["auction_paid_usd_by_month"])
        np.testing.assert_allclose(paid, 10.0 * g * binds, rtol=1e-12)
        assert p["auction_paid_usd_total"] == pytest.approx(paid.sum(), rel=1e-12) and paid.sum() > 0
        df = discount_factor(paid.size, 0.08)
        assert p["cost_with_auctions_usd"] == pytest.approx(p["objective_usd"] + (paid * df).sum(), rel=1e-12)
    # under pro-rata nothing is auctioned: no payments, the cost is the plan's
    assert all(p["auction_paid_usd_total"] == 0.0 for p in plain["players"])
    assert plain["order"] == ["a", "b"] and plain["clearing_price_usd_by_pool"] == {}


def test_best_responses_say_when_they_stop_before_converging(tmp_path):
    from fab2token.race.respond import best_responses

    br = best_responses(_two_planners(tmp_path, 4000.0), max_rounds=1)
    assert br["rounds"] == 1 and br["converged"] is False and br["change_by_round"][0] > br["rtol"]


def test_race_command_with_best_responses(tmp_path):
    page = tmp_path / "plans.html"
    r = CliRunner().invoke(
        app, ["race", str(EXAMPLES / "race-plans.yaml"), "--respond", "5", "--json", "--report", str(page)]
    )
    assert r.exit_code == 0, r.output
    br = json.loads(r.output)["best_responses"]
    assert br["converged"] and [p["name"] for p in br["players"]] == ["first", "second"]
    assert "Best responses: converged" in page.read_text()
    r = CliRunner().invoke(app, ["race", str(EXAMPLES / "race-plans.yaml"), "--respond", "-2"])
    assert r.exit_code == 2 and "--respond" in r.output


@settings(max_examples=200, deadline=None)
@given(data=st.data(), players=st.integers(2, 6))
def test_shares_are_max_min_fair(data, players):
    """Water-filling's defining property: a player not fully served has the highest grant per share of all, and
    every player not fully served has the same grant per share."""
    req = np.array(data.draw(st.lists(st.floats(0.0, 1e4), min_size=players, max_size=players)))
    share = np.array(data.draw(st.lists(st.floats(0.1, 10.0), min_size=players, max_size=players)))
    cap = data.draw(st.floats(0.0, 3e4))
    g = water_fill(np.array(cap), req, share)
    short = g < req - 1e-6 * np.maximum(req, 1.0)
    per_share = g / share
    if short.any():
        level = per_share[short]
        assert level == pytest.approx(np.full(level.size, level[0]), rel=1e-6, abs=1e-9)
        assert np.all(per_share <= level[0] * (1 + 1e-6) + 1e-9)


def test_a_target_beyond_reach_reports_its_shortfall(tmp_path):
    data = copy.deepcopy(yaml.safe_load(RACE.read_text()))
    data.pop("counterfactuals")
    data["players"][0]["scenario"]["targets"]["training"][0]["flops"] = 1e30
    t = run_race(race_from_data(data, "<test>", RACE.parent), counterfactuals=False).players[0].targets[0]
    assert t["met_month"] is None and not t["met_by_deadline"]
    assert 0.5 < t["shortfall_frac_at_deadline"] < 1.0


def _surplus_race(sell: bool) -> dict:
    base = yaml.safe_load(RACE.read_text())["players"][0]["scenario"]
    seller = copy.deepcopy(base)
    seller.pop("fleet")
    seller["supply"]["fab"] = {"capacity_wafers_per_month": 100_000, "cycle_time_months": 3}
    seller["supply"]["packaging"] = {
        "interposer_area_mm2": 2500,
        "capacity_wafers_per_month": [{"from": "2025-01", "wafers_per_month": 1000}],
    }
    buyer = copy.deepcopy(base)
    buyer.pop("fleet")
    buyer["supply"]["fab"] = {"wafer_starts": [{"from": "2025-01", "wafers_per_month": 30_000}], "cycle_time_months": 3}
    return {
        "horizon": {"start": "2026-01", "months": 12},
        "world": {"wafers": [{"key": "N3", "capacity": [{"from": "2025-01", "per_month": 10_000}]}]},
        "players": [
            {"name": "seller", "scenario": seller, "own": ["wafers"], "sell_surplus": sell},
            {"name": "buyer", "scenario": buyer},
        ],
    }


def test_an_own_fab_sells_its_surplus_wafers():
    """A 100k-wafer fab whose own packaging uses a few hundred wafers a month offers the rest to the N3 pool: the
    buyer, short at 10k of its 30k, then gets all 30k (in the start months whose wafers come out in the horizon); the seller's own output is unchanged (its packaging is its
    own); the pool never grants more than its capacity plus what was offered."""
    without = run_race(race_from_data(_surplus_race(False), "<t>", RACE.parent), counterfactuals=False)
    with_sale = run_race(race_from_data(_surplus_race(True), "<t>", RACE.parent), counterfactuals=False)
    pool0, pool1 = without.pools[0], with_sale.pools[0]
    assert pool0.granted[1] == pytest.approx(np.full(12, 10_000.0))
    # starts whose wafers come out within the horizon are offered (the last three start months feed months after it)
    assert pool1.granted[1, :9] == pytest.approx(np.full(9, 30_000.0))
    assert pool1.granted[1, 9:] == pytest.approx(np.full(3, 10_000.0))
    assert np.all(pool1.granted.sum(axis=0) <= pool1.capacity + 1e-6)
    offered = with_sale.to_dict()["surplus_offered"]["seller"]
    assert offered["node"] == "N3" and 90_000 * 12 < offered["wafers_offered"] < 100_000 * 12
    assert offered["converged"] and offered["rounds"] == 2  # nothing competes for its packaging: one resale round
    a = without.players[0].dataset["accelerators_delivered"].values
    b = with_sale.players[0].dataset["accelerators_delivered"].values
    assert b == pytest.approx(a)  # it kept every wafer it could package


def test_surplus_sales_run_to_a_fixed_point_and_say_when_they_do_not(monkeypatch):
    """With a world packaging pool, the buyer's new wafers compete for the seller's packaging: each round the seller
    asks for its whole fab's packaging, keeps what its grant packages and offers the rest, until nothing it keeps
    moves. A round limit too small to get there is reported, not hidden."""
    from fab2token.race import world

    data = _surplus_race(True)
    data["world"]["packaging"] = {"capacity": [{"from": "2025-01", "per_month": 1500}]}
    for player in data["players"]:
        player["scenario"]["supply"]["packaging"] = {"interposer_area_mm2": 2500}
    loaded = race_from_data(data, "<t>", RACE.parent)
    res = run_race(loaded, counterfactuals=False)
    offered = res.to_dict()["surplus_offered"]["seller"]
    assert offered["converged"] and offered["rounds"] >= 3  # more than the one resale round of before
    for pool in res.pools:  # never more than the pool (plus what was offered to it)
        assert np.all(pool.granted.sum(axis=0) <= pool.capacity + 1e-6)
    packaging = next(p for p in res.pools if p.granted.shape[0] == 2 and p.capacity.sum() == pytest.approx(18_000))
    assert packaging.granted[0].sum() > 0 and packaging.granted[1].sum() > 0  # both package, neither takes all
    _, again = world.allocate_with_surplus(loaded.race, loaded.scenarios)
    assert again["seller"] == offered  # the same fixed point when asked again
    monkeypatch.setattr(world, "SURPLUS_ROUNDS", 1)
    short = run_race(loaded, counterfactuals=False).to_dict()["surplus_offered"]["seller"]
    assert short["converged"] is False and short["rounds"] == 2


def test_selling_needs_an_own_fab():
    data = _surplus_race(True)
    data["players"][0]["own"] = []
    with pytest.raises(ScenarioError, match="sell_surplus needs own"):
        race_from_data(data, "<t>", RACE.parent)


def test_draws_also_draw_the_players_own_uncertain_inputs():
    """A player whose foundry booking is a range (uniform 200-600 wafers a month, its only supply): the race's
    draws draw it too (its compute varies from draw to draw), reproducibly, and name the input."""
    from fab2token.race.draws import run_race_draws

    data = copy.deepcopy(yaml.safe_load(RACE.read_text()))
    data.pop("counterfactuals")
    data["world"] = {}
    lab = data["players"][0]["scenario"]
    lab.pop("fleet")  # no market GPUs: its compute is its own chain's
    lab["supply"]["fab"]["wafer_starts"][0]["wafers_per_month"] = {"dist": "uniform", "low": 200, "high": 600}
    loaded = race_from_data(data, "<t>", RACE.parent)
    a = run_race_draws(loaded, 4, seed=3)
    assert a == run_race_draws(loaded, 4, seed=3)
    assert a["uncertain_player_inputs"] == ["players[0].scenario.supply.fab.wafer_starts[0].wafers_per_month"]
    lab_row = a["players"][0]
    assert lab_row["compute_flop_per_s_end_p10"] < lab_row["compute_flop_per_s_end_p90"]
    others = a["players"][1]  # its inputs are fixed and nothing is shared: the same in every draw
    assert others["compute_flop_per_s_end_p10"] == others["compute_flop_per_s_end_p90"]
