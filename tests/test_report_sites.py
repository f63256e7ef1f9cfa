"""The report at many sites (issue 17): the ten sites with the most IT energy drawn one by one, the rest as one
"others" line whose series keep the totals (sums), the worst (PUE p99, largest cluster) or the IT-weighted PUE."""

from __future__ import annotations

import numpy as np
import xarray as xr

from fab2token.io.report import _site_figures
from fab2token.io.report_sites import TOP_SITES, sites_shown


def _ds(n_sites: int) -> xr.Dataset:
    rng = np.random.default_rng(0)
    sites = [f"s{k:02d}" for k in range(n_sites)]
    months = ["2026-01", "2026-02", "2026-03"]
    shape = (len(months), n_sites)
    it = rng.uniform(1, 100, shape)
    per = lambda v: (("month", "site"), v)  # noqa: E731
    return xr.Dataset(
        {
            "it_power_mw": per(it),
            "it_capacity_mw": per(it * 1.5),
            "water_m3": per(rng.uniform(0, 10, shape)),
            "pue_mean": per(rng.uniform(1.1, 1.5, shape)),
            "pue_p99": per(rng.uniform(1.3, 1.9, shape)),
            "max_cluster_accelerators": per(rng.integers(0, 10_000, shape).astype(float)),
            "ambient_mean_c": per(rng.uniform(0, 30, shape)),
        },
        coords={"month": months, "site": sites, "pue": ("site", np.full(n_sites, 1.2))},
    )


def test_few_sites_are_drawn_as_they_are():
    ds = _ds(TOP_SITES)
    assert sites_shown(ds) is ds


def test_the_rest_are_one_line_that_keeps_the_totals_and_the_worst():
    ds = _ds(25)
    shown = sites_shown(ds)
    order = np.argsort(-ds["it_power_mw"].sum("month").values)
    top, rest = ds["site"].values[order[:TOP_SITES]], ds["site"].values[order[TOP_SITES:]]
    assert list(shown["site"].values) == [*top, "others (15 sites)"]
    for name in ("it_power_mw", "it_capacity_mw", "water_m3"):  # summed: the whole fleet's total is kept
        np.testing.assert_allclose(shown[name].sum("site"), ds[name].sum("site"), rtol=1e-12)
    o = {"site": "others (15 sites)"}
    rest_ds = ds.sel(site=rest)
    np.testing.assert_array_equal(shown["pue_p99"].sel(o), rest_ds["pue_p99"].max("site"))
    np.testing.assert_array_equal(
        shown["max_cluster_accelerators"].sel(o), rest_ds["max_cluster_accelerators"].max("site")
    )
    w = rest_ds["it_power_mw"]
    np.testing.assert_allclose(shown["pue_mean"].sel(o), (rest_ds["pue_mean"] * w).sum("site") / w.sum("site"))
    np.testing.assert_allclose(shown["ambient_mean_c"].sel(o), rest_ds["ambient_mean_c"].mean("site"))
    np.testing.assert_array_equal(shown["it_power_mw"].sel(site=top[0]), ds["it_power_mw"].sel(site=top[0]))


def test_the_power_chart_at_many_sites_has_the_top_sites_and_others():
    ds = _ds(25).drop_vars(["pue_mean", "pue_p99", "ambient_mean_c"])  # the power and cluster charts only
    figs: dict = {}
    _site_figures(ds, list(ds["month"].values), figs)
    names = [t.name for t in figs["power"].data]
    assert len(names) == 2 * (TOP_SITES + 1) and "others (15 sites): IT MW used" in names
    assert len(figs["cluster"].data) == TOP_SITES + 1
