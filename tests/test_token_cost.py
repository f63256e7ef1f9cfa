"""Energy and cost per token (issue 15 item 4): the arithmetic by hand, unknown cost terms named, the command."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from fab2token import catalog
from fab2token.cli.main import app
from fab2token.deploy.placement import all_in_it_kw
from fab2token.workloads.inference import INFER_KEYS, infer
from fab2token.workloads.token_cost import token_energy_and_cost

H100 = catalog.lookup("accelerators", "H100")


def test_energy_per_token_by_hand():
    kw = float(all_in_it_kw(H100["board_power_w"], H100["server_power_w_per_accelerator"]))
    c = token_energy_and_cost(H100, 1000.0, pue=1.25, power_frac=0.8)
    assert c["power_kw_per_accelerator"] == pytest.approx(kw * 0.8)
    assert c["joules_per_token"] == pytest.approx(kw * 0.8 * 1.25 * 1000.0 / 1000.0)  # J/s per token/s
    assert c["tokens_per_s_per_mw"] == pytest.approx(1000.0 / (kw * 0.8 * 1.25 / 1000.0))


def test_cost_per_hour_from_price_life_and_energy():
    c = token_energy_and_cost(H100, 2000.0, pue=1.2, electricity_usd_per_mwh=100, price_usd=30000, useful_life_years=5)
    capex = 30000 / (5 * 365.25 * 24)
    energy = c["power_kw_per_accelerator"] * 1.2 / 1000.0 * 100
    assert c["usd_per_accelerator_hour_parts"] == pytest.approx({"capex": capex, "energy": energy})
    assert c["usd_per_accelerator_hour"] == pytest.approx(capex + energy)
    assert c["usd_per_million_tokens"] == pytest.approx((capex + energy) / (2000.0 * 3600) * 1e6)
    assert c["unknown_cost_terms"] == []


def test_unknown_terms_are_named_and_a_given_rate_is_used_as_is():
    # an accelerator the price table does not hold: its capex is unknown, named, and the cost NaN
    c = token_energy_and_cost(catalog.lookup("accelerators", "TPU-v5p"), 2000.0, electricity_usd_per_mwh=100)
    assert math.isnan(c["usd_per_accelerator_hour"]) and math.isnan(c["usd_per_million_tokens"])
    assert c["unknown_cost_terms"] == ["capex (price_usd)"] and c["price_source"] is None
    assert token_energy_and_cost(H100, 2000.0)["unknown_cost_terms"] == ["energy (electricity_usd_per_mwh)"]
    c = token_energy_and_cost(H100, 2000.0, usd_per_accelerator_hour=2.5)
    assert c["usd_per_accelerator_hour"] == 2.5 and c["unknown_cost_terms"] == []
    assert c["usd_per_million_tokens"] == pytest.approx(2.5 / (2000 * 3600) * 1e6)


def test_infer_carries_them_and_the_keys_are_stable():
    r = infer(
        "llama-3-70b",
        "H100",
        8,
        precision="fp8",
        pue=1.2,
        price_usd=25000,
        useful_life_years=5,
        electricity_usd_per_mwh=80,
    ).to_dict()
    assert tuple(k for k in r if k in INFER_KEYS) == INFER_KEYS
    assert r["joules_per_token"] == pytest.approx(
        r["power_kw_per_accelerator"] * 1.2 * 1000 / r["tokens_per_s_per_accelerator"]
    )
    assert r["usd_per_million_tokens"] > 0


def test_infer_command_options():
    args = ["infer", "-m", "llama-3-70b", "-a", "H100", "--precision", "fp8", "--json"]
    r = CliRunner().invoke(
        app, [*args, "--price-usd", "25000", "--useful-life-years", "5", "--electricity-usd-per-mwh", "80"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["unknown_cost_terms"] == []
    for bad in (["--power-frac", "1.5"], ["--pue", "0.9"], ["--useful-life-years", "0"], ["--price-usd", "-1"]):
        r = CliRunner().invoke(app, [*args, *bad])
        assert r.exit_code == 2 and bad[0] in r.output, (bad, r.output)


def test_prices_default_to_the_catalog_with_their_source():
    """Without typed prices: the catalog's purchase price (sourced) and useful life, and $/M tokens at each public
    on-demand rate of the accelerator."""
    c = token_energy_and_cost(H100, 2000.0, electricity_usd_per_mwh=100)
    rows = [r for r in catalog.table_rows("prices") if r["accelerator"] == "H100-SXM"]
    purchase = next(r for r in rows if r["kind"] == "purchase")
    assert c["price_usd"] == purchase["usd"] and c["price_source"].startswith("catalog: Raymond James")
    assert c["useful_life_years"] == catalog.overhead("useful_life_years_default")
    assert c["unknown_cost_terms"] == [] and c["usd_per_accelerator_hour_parts"]["capex"] == pytest.approx(
        purchase["usd"] / (c["useful_life_years"] * 8766.0)
    )
    clouds = {r["offering"]: r["usd"] for r in rows if r["kind"] == "cloud"}
    assert set(c["cloud_usd_per_million_tokens"]) == set(clouds)
    for name, hourly in clouds.items():
        assert c["cloud_usd_per_million_tokens"][name] == pytest.approx(hourly / (2000 * 3600) * 1e6)


def test_every_price_row_is_sourced_dated_and_names_a_catalog_accelerator():
    names = {r["name"] for r in catalog.table_rows("accelerators")}
    for r in catalog.table_rows("prices"):
        assert r["accelerator"] in names and r["source"].strip() and len(r["date"]) == 7
        assert r["kind"] in ("purchase", "cloud") and r["usd"] > 0
        assert math.isnan(r["low"]) or r["low"] <= r["usd"] <= r["high"]


def test_fp4_weights_are_block_scaled_and_served_at_the_fp4_peak():
    """NVFP4 stores 4.5 bits a weight (an FP8 scale per 16) and MXFP4 4.25 (an 8-bit scale per 32): weights take
    that much of fp8's memory; both compute at the fp4 peak (more tokens/s than fp8 where compute binds); the KV
    cache stays fp8; a part without fp4 is refused, one whose fp4 peak is unpublished is named."""
    from fab2token.errors import ModelError, OptionError

    fp8 = infer("llama-3.1-8b", "B200", 8, precision="fp8")
    nv = infer("llama-3.1-8b", "B200", 8, precision="nvfp4")
    mx = infer("llama-3.1-8b", "B200", 8, precision="mxfp4", tp=nv.tp)
    fp8_at = infer("llama-3.1-8b", "B200", 8, precision="fp8", tp=nv.tp)
    assert nv.weights_gb_per_accelerator == pytest.approx(fp8_at.weights_gb_per_accelerator * 4.5 / 8, rel=1e-9)
    assert mx.weights_gb_per_accelerator == pytest.approx(fp8_at.weights_gb_per_accelerator * 4.25 / 8, rel=1e-9)
    assert nv.kv_cache_bytes_per_token == fp8.kv_cache_bytes_per_token
    assert nv.tokens_per_s > fp8.tokens_per_s
    with pytest.raises(OptionError, match="a format H100-SXM computes in"):
        infer("llama-3.1-8b", "H100", 8, precision="nvfp4")
    with pytest.raises(ModelError, match="dense_fp4_flop_per_s is not published"):
        infer("llama-3.1-8b", "B300", 8, precision="mxfp4")


def test_a_scenario_serving_fp4_on_a_part_without_it_is_refused_at_validate():
    import yaml

    from fab2token.errors import ScenarioError
    from fab2token.scenario import parse_scenario
    from tests.conftest import EXAMPLES

    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["workloads"]["inference"]["precision"] = "nvfp4"
    with pytest.raises(ScenarioError, match="workloads.inference.precision: got 'nvfp4'; a format every serving"):
        parse_scenario(yaml.safe_dump(data), "<t>")
