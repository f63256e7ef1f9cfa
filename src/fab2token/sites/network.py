"""Scale-out network: optics per accelerator and their power and cost, and the largest training cluster a site or
a campus of sites can host.

Fabric: a non-blocking folded Clos (fat tree) of ``switch_radix``-port switches in ``fabric_tiers`` tiers, one
400G scale-out port per accelerator (ConnectX-7 class). Largest cluster on one site: the installed count, capped by
the fabric's endpoints ``k (k/2)^(t-1)`` (Al-Fares et al., SIGCOMM 2008), rounded down to whole scale-up domains
(``scale_up_domain``: 8 GPUs in an HGX/DGX server, 72 in a GB200 NVL72 rack).

Optics: in a non-blocking fat tree every accelerator owns one link per tier: the adapter link (a single-port
transceiver at the adapter, half a twin-port module at the leaf) and one switch-to-switch link per tier above
(half a twin-port module at each end). Per accelerator: 1 adapter transceiver and ``0.5 + (t - 1)`` twin-port
switch modules; their power comes from ``catalog/optics.csv`` (NVIDIA datasheets). This power is part of the
network share already in each accelerator's all-in kW (``catalog/overheads.csv``, network_storage_overhead_frac),
so it is reported, not added again; the cost is added when the catalog (or the scenario) gives prices.

Campus (``campuses:`` in the scenario: member sites, and ``inter_site_gbps`` from each to the campus core): the
largest cluster that stays non-blocking across sites. A link carrying a site's share ``n`` of a cluster of ``N``
must carry ``min(n, N - n)`` adapters' bandwidth, so with ``m = inter_site_gbps / port_gbps`` either every site
contributes at most ``m`` (``N = sum min(c_i, m)``) or one site contributes all it has and the others at most
``m`` together (``N = c_j + min(m, sum_{i!=j} c_i)``); the answer is the larger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog

__all__ = ["PORT_GBPS", "optics_per_accelerator", "site_max_cluster", "campus_max_cluster"]

Array = NDArray[np.float64]
PORT_GBPS = 400.0
_OPTICS = {
    "multimode": ("400g-osfp-sr4-nic", "800g-osfp-2xsr4-switch"),
    "singlemode": ("400g-osfp-dr4-nic", "800g-osfp-2xdr4-switch"),
}


def optics_per_accelerator(
    tiers: ArrayLike, kind: str = "multimode", overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Array]:
    """Transceivers, watts and dollars of optics per accelerator for a ``tiers``-tier fat tree (vectorised).

    Returns ``nic_modules`` (1), ``switch_modules`` (twin-port, ``0.5 + tiers - 1``), ``power_w`` and ``usd``
    (NaN when a price is not in the catalog)."""
    return optics_from_table(tiers, kind, catalog.load_table("optics", overrides))


def optics_from_table(tiers: ArrayLike, kind: str, table: Mapping[str, Mapping[str, Any]]) -> dict[str, Array]:
    """:func:`optics_per_accelerator` on an optics table already read (with its overrides)."""
    t = np.asarray(tiers, dtype=float)
    nic, sw = (table[n] for n in _OPTICS[kind])
    switch_modules = 0.5 + (t - 1.0)
    nic_modules = np.ones_like(t)
    return {
        "nic_modules": nic_modules,
        "switch_modules": switch_modules,
        "power_w": nic_modules * nic["power_w"] + switch_modules * sw["power_w"],
        "usd": nic_modules * nic["price_usd"] + switch_modules * sw["price_usd"],
    }


def site_max_cluster(installed: ArrayLike, endpoints: ArrayLike, scale_up_domain: ArrayLike) -> Array:
    """Largest cluster per site: installed accelerators within the fabric's endpoints, in whole scale-up domains."""
    d = np.asarray(scale_up_domain, dtype=float)
    return np.floor(np.minimum(np.asarray(installed, dtype=float), np.asarray(endpoints, dtype=float)) / d) * d


def campus_max_cluster(site_clusters: ArrayLike, inter_site_gbps: float, port_gbps: float = PORT_GBPS) -> Array:
    """Largest non-blocking cluster across the campus's sites. ``site_clusters``: (..., site), each site's own
    largest cluster; returns (...,). See the module docstring for the rule."""
    c = np.asarray(site_clusters, dtype=float)
    m = inter_site_gbps / port_gbps
    spread = np.minimum(c, m).sum(axis=-1)  # every site within its link
    total = c.sum(axis=-1)
    big = c.max(axis=-1)
    one_home = big + np.minimum(m, total - big)  # the largest site whole, the others within one link's worth
    return np.maximum(spread, one_home)


def campus_names(campuses: Sequence[Any]) -> list[str]:
    return [c.name for c in campuses]
