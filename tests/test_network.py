"""Scale-out network: optics per accelerator, cluster size in whole scale-up domains, campus clusters."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fab2token import catalog
from fab2token.engine.simulate import simulate
from fab2token.errors import ScenarioError
from fab2token.scenario import parse_scenario
from fab2token.sites.network import campus_max_cluster, optics_per_accelerator, site_max_cluster
from tests.conftest import EXAMPLES


def test_optics_per_accelerator_in_a_fat_tree():
    o = optics_per_accelerator([1, 2, 3])
    np.testing.assert_allclose(o["switch_modules"], [0.5, 1.5, 2.5])  # twin-port modules: half per 400G port
    np.testing.assert_allclose(o["power_w"], [9 + 0.5 * 15, 9 + 1.5 * 15, 9 + 2.5 * 15])  # NVIDIA datasheets
    assert float(optics_per_accelerator(3, "singlemode")["power_w"]) == pytest.approx(9 + 2.5 * 17)
    assert np.isnan(o["usd"]).all()  # no published price: not invented


def test_optics_power_fits_inside_the_network_share_of_all_in_power():
    # all-in kW carries network + storage as 8.9 % of server power (catalog/overheads.csv, SemiAnalysis): a
    # three-tier fabric's optics per H100 (46.5 W) must fit inside that share of a DGX H100's 1,275 W per GPU
    share = catalog.overhead("network_storage_overhead_frac") * 10200 / 8
    assert float(optics_per_accelerator(3)["power_w"]) < share


def test_cluster_is_whole_scale_up_domains_within_the_fabric():
    assert float(site_max_cluster(1000, 65536, 72)) == 936  # 13 NVL72 racks
    assert float(site_max_cluster(100000, 65536, 8)) == 65536


def _brute_force(caps: list[int], m: float) -> int:
    best = 0
    for alloc in itertools.product(*(range(c + 1) for c in caps)):
        n = sum(alloc)
        if all(min(a, n - a) <= m for a in alloc):
            best = max(best, n)
    return best


@settings(max_examples=60, deadline=None)
@given(caps=st.lists(st.integers(0, 6), min_size=2, max_size=3), m=st.integers(0, 7))
def test_campus_rule_matches_brute_force(caps, m):
    assert float(campus_max_cluster(np.array(caps), m * 400.0)) == _brute_force(caps, m)


def test_campus_of_two_sites_in_a_simulation():
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["campuses"] = [{"name": "c", "sites": ["alpha", "beta"], "inter_site_gbps": 400 * 1000}]
    data["catalog"] = {
        "optics": {"400g-osfp-sr4-nic": {"price_usd": 500}, "800g-osfp-2xsr4-switch": {"price_usd": 900}}
    }
    ds = simulate(parse_scenario(yaml.safe_dump(data)))
    per_site = ds["max_cluster_accelerators"].values
    expected = np.maximum(per_site.max(axis=1), campus_max_cluster(per_site, 400 * 1000))
    np.testing.assert_allclose(ds["largest_cluster_accelerators"].values, expected)
    assert (ds["largest_cluster_accelerators"].values >= per_site.max(axis=1)).all()
    # optics are paid once, when an accelerator is first installed at a site (1 NIC + 2.5 switch modules each in a
    # three-tier fabric); a hot month that idles and re-powers accelerators pays nothing again
    installs = float(ds["accelerators_housed_by_type"].isel(month=-1).sum())  # nothing retires here
    assert installs >= float(ds["accelerators_installed"].isel(month=-1).sum())
    assert float(ds["optics_capex_usd"].sum()) == pytest.approx(installs * (500 + 2.5 * 900))


def test_campus_naming_an_unknown_site_is_an_error():
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["campuses"] = [{"name": "c", "sites": ["alpha", "gamma"], "inter_site_gbps": 1000}]
    with pytest.raises(ScenarioError) as err:
        parse_scenario(yaml.safe_dump(data))
    assert err.value.issues[0].path == "campuses[0].sites[1]" and err.value.issues[0].value == "gamma"
