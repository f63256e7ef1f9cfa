"""All-in IT power per accelerator and per cluster against published figures.

The model (deploy.all_in_it_kw): published server power per accelerator where known, else board power x 1.821
(the DGX H100 ratio, 10.2 kW / 8 x 700 W), plus 8.9 % for scale-out network and storage (SemiAnalysis 2024).

1. The board-power fallback predicting servers it was not derived from: NVIDIA DGX A100 (6.5 kW max for 8 x 400 W
   A100, https://www.nvidia.com/en-us/data-center/dgx-a100/) and DGX B200 (14.3 kW max for 8 x 1000 W B200,
   https://www.nvidia.com/en-us/data-center/dgx-b200/); both figures are in catalog/accelerators.csv with sources.
   Tolerance ±12 %: the fallback scales host power (CPUs, NICs, fans) with GPU power, which it does not do — so a
   low-power GPU generation is under-predicted (A100: −10.4 %), and a rack where two GPUs share one host CPU is
   over-predicted (GB200 NVL72: +31 %). The bands were set knowing these gaps; the test pins the known biases
   (sign included) so a change to the factor that worsens them fails.
2. A 100k-H100 cluster: SemiAnalysis, "100,000 H100 Clusters: Power, Network Topology, Ethernet vs InfiniBand,
   Reliability, Failures, Checkpointing" (2024-06-17, https://semianalysis.com/2024/06/17/100000-h100-clusters-power-network/)
   gives ~150 MW of critical IT power. Ours: 138.9 MW (−7.4 %). Tolerance ±10 %: the published figure is a rounded
   "~150 MW", and this is only partly independent — our network/storage share comes from the same publisher.
"""

from __future__ import annotations

import math

import pytest

from fab2token import catalog
from fab2token.deploy.placement import accelerator_all_in_it_kw, all_in_it_kw

# (accelerator, published 8-GPU server kW, the band of the relative error the test pins: low, high)
SERVERS = [
    ("A100-SXM-80GB", 6.5, -0.12, 0.0),
    ("B200", 14.3, -0.12, 0.12),
    # GB200 NVL72: ~120 kW per rack of 72 GPUs (ServeTheHome, GTC 2024), i.e. 13.33 kW per 8 GPUs. Two GPUs
    # share one Grace CPU, so the x 1.821 fallback over-predicts by ~31 %; the catalog now carries the rack
    # figure, so runs never use the fallback for GB200. Pinned so the known error stays visible.
    ("GB200", 120.0 / 72 * 8, 0.25, 0.35),
]
CLUSTER_GPUS = 100_000  # SemiAnalysis: ~150 MW of critical IT power
CLUSTER_PUBLISHED_MW = 150.0
CLUSTER_TOLERANCE = 0.10
EIA_HEAT_RATE_MMBTU_PER_MWH = 10.408  # EIA: 1.22 lb CO2/kWh at 10,408 Btu/kWh
EIA_KG_PER_MWH = 1.22 * 0.45359237 * 1000
EIA_TOLERANCE = 0.01


def _fallback_server_kw(name: str) -> float:
    """8 GPUs' server power from the board power alone (the x 1.821 fallback, no network or storage share)."""
    spec = catalog.lookup("accelerators", name)
    return float(all_in_it_kw(spec["board_power_w"], math.nan, network_storage_overhead_frac=0.0)) * 8


@pytest.mark.parametrize(("name", "published_server_kw", "rel_low", "rel_high"), SERVERS)
def test_board_power_fallback_predicts_published_8_gpu_servers(name, published_server_kw, rel_low, rel_high):
    spec = catalog.lookup("accelerators", name)
    # the catalog's own server power is the published figure (per accelerator) this test predicts
    assert spec["server_power_w_per_accelerator"] * 8 / 1000 == pytest.approx(published_server_kw, rel=1e-4)
    server_kw = _fallback_server_kw(name)
    rel = server_kw / published_server_kw - 1.0
    assert rel_low <= rel <= rel_high, f"{name}: {server_kw:.2f} kW vs {published_server_kw} kW ({rel:+.1%})"


def _cluster_mw() -> float:
    return accelerator_all_in_it_kw(catalog.lookup("accelerators", "H100-SXM")) * CLUSTER_GPUS / 1000


def test_100k_h100_cluster_critical_it_power_matches_semianalysis():
    assert _cluster_mw() == pytest.approx(CLUSTER_PUBLISHED_MW, rel=CLUSTER_TOLERANCE)


def test_fallback_is_monotone_and_network_share_adds_on_top():
    kw = all_in_it_kw([400.0, 700.0, 1000.0])
    assert list(kw) == sorted(kw)
    share = catalog.overhead("network_storage_overhead_frac")
    assert float(all_in_it_kw(700.0, network_storage_overhead_frac=0.0)) * (1 + share) == pytest.approx(float(kw[1]))


def _gas_kg_co2_per_mwh() -> float:
    """On-site gas generation's CO2 per MWh at EIA's steam-electric heat rate."""
    from fab2token.sites.power import onsite_cost_and_carbon
    from tests.test_sites import _sc

    heat_rate = EIA_HEAT_RATE_MMBTU_PER_MWH
    site = _sc(onsite_power=[{"from": "2026-01", "mw": 10}], onsite_heat_rate_mmbtu_per_mwh=heat_rate).sites[0]
    return float(onsite_cost_and_carbon([site])[1][0])


def test_gas_generation_co2_per_mwh_matches_eia():
    """EIA FAQ "How much carbon dioxide is produced per kilowatthour when generating electricity with fossil
    fuels?" (2016 edition, http://www.eia.gov/tools/faqs/faq.cfm?id=74&t=11): natural gas at 116.999 lb CO2 per
    million Btu in a steam-electric generator at 10,408 Btu/kWh gives 1.22 lb CO2/kWh. Ours: the site's heat rate x
    the catalog's EPA factor (53.06 kg/MMBtu). Tolerance ±1 %: EIA rounds to 0.01 lb/kWh (±0.4 %) and its fuel
    factor differs from EPA's in the fifth digit."""
    assert _gas_kg_co2_per_mwh() == pytest.approx(EIA_KG_PER_MWH, rel=EIA_TOLERANCE)


def validation_rows() -> list[dict]:
    """The figures a symmetric relative tolerance states, evaluated now, for the validation page: the servers whose
    band is symmetric (the one-sided A100 band and the pinned GB200 bias have no row), the 100k-H100 cluster and
    EIA's gas CO2."""
    rows = [
        {
            "case": f"{name} 8-GPU server power from the board-power fallback",
            "published": published,
            "ours": _fallback_server_kw(name),
            "unit": "kW",
            "tolerance": rel_high,
        }
        for name, published, rel_low, rel_high in SERVERS
        if rel_low == -rel_high
    ]
    rows.append(
        {
            "case": f"{CLUSTER_GPUS:,}-H100 cluster critical IT power (SemiAnalysis)",
            "published": CLUSTER_PUBLISHED_MW,
            "ours": _cluster_mw(),
            "unit": "MW",
            "tolerance": CLUSTER_TOLERANCE,
        }
    )
    rows.append(
        {
            "case": f"Gas generation CO2 at {EIA_HEAT_RATE_MMBTU_PER_MWH * 1000:,.0f} Btu/kWh (EIA)",
            "published": EIA_KG_PER_MWH,
            "ours": _gas_kg_co2_per_mwh(),
            "unit": "kg CO2 per MWh",
            "tolerance": EIA_TOLERANCE,
        }
    )
    return rows
