"""Accelerators per MW of connected power against published AI campuses.

The engine sizes a site's capacity as connected power (grid + on-site) x ``usable_power_frac`` / PUE, then all-in IT
kW per accelerator (server share + network and storage). The usable share's default, 0.80, is the U.S. National
Electrical Code's continuous-load rule (NFPA 70 210.20(A), 215.3: gear rated at 125 % of a continuous load, i.e.
loaded to 80 % of its rating; source row in ``catalog/overheads.csv``). It was taken from that rule, not fitted to
the campuses below, so these figures test it (they were looked at before the rule was chosen: the issue asked for
a margin that brings accelerators per grid MW closer to built campuses; no value was tuned to them).

PUE is not published for these campuses; the test assumes 1.1, Google's most recently published fleet PUE as
reported by CNBC (2022-04-13, https://www.cnbc.com/2022/04/13/google-data-center-goal-100percent-green-energy-by-2030.html:
"The most current PUE that Google published was 1.1, for the second quarter of 2021"), a modern hyperscale figure.

Published figures (operator-stated unless said):
- Crusoe, Abilene (Stargate) campus, press release 2025-03-18
  (https://www.globenewswire.com/news-release/2025/03/18/3044956/0/en/Crusoe-Expands-AI-Data-Center-Campus-in-Abilene-to-1-2-Gigawatts.html):
  "a total power capacity of 1.2 gigawatts (GW)", eight buildings, "Each building is designed to operate up to
  50,000 NVIDIA GB200 NVL72s" (GPUs: 50,000 racks would be 3.6 million GPUs) -> 400,000 GB200 per 1,200 MW.
- Meta, Ardestani et al., "Provisioning to Runtime Optimization of a 100 MW-Scale AI Cluster", arXiv:2605.24461:
  "a 150 MW datacenter hosting a cluster of 83K GB200 GPUs" -> 83,000 per 150 MW.
- OpenAI, 2025-07-22 (quoted by cloudwars.com): "over 5 gigawatts of Stargate AI data center capacity under
  development, which will run over 2 million chips" -> 2,000,000 per 5,000 MW (both lower bounds; GB200-class).
- Crusoe/Microsoft Abilene campus (second-hand, newdecoded.com): "Each of the two new buildings is engineered to
  deliver 336 megawatts of critical IT load" on a "new 900 megawatt AI factory campus" -> 672 IT MW per 900 MW.

Tolerance ±30 % per figure: the operator figures disagree among themselves by 1.66x (Abilene 333 per MW, Meta 553
per MW for the same GPU), their "MW" is campus capacity in one case and "a datacenter" in another, and PUE is
assumed. The sharper assertion is relative: with the usable share the four figures agree better than without it
(mean |log ratio| 0.13 vs 0.23).
"""

from __future__ import annotations

import math

import yaml

from fab2token import catalog
from fab2token.engine.simulate import simulate
from fab2token.scenario import parse_scenario

PUE = 1.1
PUBLISHED_GB200_PER_MW = {
    "Crusoe Abilene, 1.2 GW": 400_000 / 1_200,
    "Meta 150 MW GB200 cluster": 83_000 / 150,
    "OpenAI Stargate, >5 GW": 2_000_000 / 5_000,
}
PUBLISHED_IT_PER_CONNECTED_MW = {"Crusoe/Microsoft Abilene, 900 MW": 672 / 900}


CAMPUS = """
horizon: {start: 2026-01, months: 1}
supply: {accelerator: H100, wafer_starts: [{from: 2025-01, wafers_per_month: 0}], d0_per_cm2: 0.1}
sites:
  - {name: campus, grid_power: [{from: 2025-01, mw: 1000}], cooling: liquid, pue: PUE, land_acres: 1000,
     construction_start: 2025-01, construction_months: 0}
economics: {accelerator_price_usd: 1, electricity_usd_per_mwh: 1, datacenter_capex_usd_per_mw: 1}
fleet:
  - {accelerator: GB200, market: {price_usd: 1, orders: [{from: 2026-01, per_month: 2000000}]}}
"""


TOLERANCE = 0.30  # relative, per figure
UNITS = {"GB200": "GB200 per connected MW", "IT": "IT MW per connected MW"}


def _modelled(usable: float) -> dict[str, tuple[float, float, str]]:
    """The engine on a 1,000 MW campus with more GB200s delivered than it can power: what it installs per MW and
    the IT MW it can feed per connected MW, each as (published, ours, unit)."""
    data = yaml.safe_load(CAMPUS.replace("PUE", str(PUE)))
    data["sites"][0]["usable_power_frac"] = usable
    ds = simulate(parse_scenario(yaml.safe_dump(data)))
    per_mw = float(ds["accelerators_installed_by_type"].sel(accelerator="GB200").sum()) / 1000.0
    it_per_mw = float(ds["it_capacity_mw"].sum()) / 1000.0
    out = {name: (pub, per_mw, UNITS["GB200"]) for name, pub in PUBLISHED_GB200_PER_MW.items()}
    out.update({name: (pub, it_per_mw, UNITS["IT"]) for name, pub in PUBLISHED_IT_PER_CONNECTED_MW.items()})
    return out


def _ratios(usable: float) -> dict[str, float]:
    """Each figure's modelled value over the published one (see ``_modelled``)."""
    return {name: ours / pub for name, (pub, ours, _) in _modelled(usable).items()}


def test_accelerators_per_connected_mw_match_published_campuses():
    usable = catalog.overhead("usable_power_frac")
    ratios = _ratios(usable)
    print({k: round(v, 3) for k, v in ratios.items()})
    for name, r in ratios.items():
        assert 1.0 - TOLERANCE <= r <= 1.0 + TOLERANCE, (name, r)


def test_the_usable_share_brings_the_engine_closer_to_built_campuses():
    with_margin = _ratios(catalog.overhead("usable_power_frac"))
    without = _ratios(1.0)
    spread = {
        k: sum(abs(math.log(r)) for r in v.values()) / len(v) for k, v in (("with", with_margin), ("without", without))
    }
    print(spread)
    assert spread["with"] < spread["without"]


def validation_rows() -> list[dict]:
    """The four figures evaluated now with the catalog's usable share, for the validation page (the relative check,
    with against without the share, is not a published figure and has no row)."""
    rows = _modelled(catalog.overhead("usable_power_frac"))
    return [
        {"case": name, "published": pub, "ours": ours, "unit": unit, "tolerance": TOLERANCE}
        for name, (pub, ours, unit) in rows.items()
    ]
