"""The run summary's fleet-level energy and cost per token served (issue 15 item 4)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from fab2token import catalog
from fab2token.engine.simulate import simulate, summarise
from fab2token.scenario import parse_scenario
from tests.conftest import EXAMPLES

SMALL = yaml.safe_load((EXAMPLES / "small.yaml").read_text())


def _run(data):
    ds = simulate(parse_scenario(yaml.safe_dump(data), "<t>"))
    return ds, summarise(ds)


def test_energy_and_cost_per_token_from_the_months():
    """Tokens served are the monthly rates times the month's seconds; the energy and cost per token are those of the
    accelerators training does not hold, month by month; a type without a useful life is depreciated over the
    catalog's default life."""
    ds, s = _run(SMALL)
    seconds = np.array([np.datetime64(m, "M") for m in ds["month"].values])
    seconds = ((seconds + 1).astype("datetime64[s]") - seconds.astype("datetime64[s]")).astype(float)
    tokens = float((ds["inference_served_tokens_per_s"] * seconds).sum())
    assert s.inference_tokens_served_total == pytest.approx(tokens, rel=1e-12)
    inference_share = 1 - ds["training_accelerators"] / ds["accelerators_installed"].sum("site")
    inference_share = inference_share.fillna(0.0)
    joules = float((ds["energy_mwh"].sum("site") * inference_share).sum()) * 3.6e9
    assert s.inference_joules_per_token == pytest.approx(joules / tokens, rel=1e-9)
    life_months = catalog.overhead("useful_life_years_default") * 12
    dep = (
        ds["accelerators_installed_by_type"].sum(["accelerator", "site"])
        * SMALL["economics"]["accelerator_price_usd"]
        / life_months
    )
    usd = float(((dep + ds["opex_usd"].sum("site")) * inference_share).sum())
    assert s.inference_usd_per_million_tokens == pytest.approx(usd / tokens * 1e6, rel=1e-9)


def test_no_inference_gives_none():
    data = copy.deepcopy(SMALL)
    data["workloads"].pop("inference")
    _, s = _run(data)
    assert s.inference_tokens_served_total is None and s.inference_joules_per_token is None


def test_the_report_draws_energy_and_cost_per_token_by_month():
    """The report's per-token chart is the months' own ratios, whose totals' ratio is the summary's figure."""
    from fab2token.engine.simulate import per_token_by_month
    from fab2token.io.report import figures

    ds, s = _run(SMALL)
    f = figures(ds)["per_token"]
    joules, usd = f.data[0], f.data[1]
    parts = per_token_by_month(ds)
    served = parts["tokens"] > 0
    tokens = parts["tokens"][served]
    assert np.allclose(np.asarray(joules.y, dtype=float)[served], parts["joules"][served] / tokens)
    assert np.isnan(np.asarray(joules.y, dtype=float)[~served]).all()  # no tokens: no figure, not zero
    assert np.allclose(np.asarray(usd.y, dtype=float)[served], parts["usd"][served] / tokens * 1e6)
    assert parts["joules"].sum() / parts["tokens"].sum() == pytest.approx(s.inference_joules_per_token, rel=1e-12)
    no_inference = copy.deepcopy(SMALL)
    no_inference["workloads"].pop("inference")
    assert "per_token" not in figures(_run(no_inference)[0])
