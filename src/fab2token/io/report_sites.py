"""The report's per-site charts at many sites: the sites with the most IT power drawn shown one by one, the rest as
one "others" line, so a 500-site report stays light and its legends readable (issue 17). The stored results keep
every site; only what the charts draw is aggregated."""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["TOP_SITES", "sites_shown"]

TOP_SITES = 10  # sites drawn one by one; a presentation choice (a legend of ten sites and "others" stays readable)

# how "others" aggregates each per-site series the charts draw (anything else per site: summed)
_MAX = ("pue_p99", "max_cluster_accelerators")  # the worst or largest of the others
_MEAN = ("ambient_mean_c",)


def sites_shown(ds: xr.Dataset, top: int = TOP_SITES) -> xr.Dataset:
    """``ds``'s numeric per-site series with the ``site`` dimension cut to the ``top`` sites by IT energy drawn over the horizon (then by IT
    capacity) plus ``others (N sites)``: energy, power, water and carbon summed; PUE mean weighted by IT power
    (IT-power-weighted mean of the sites' PUE; the plain mean in months without load); PUE p99 and the largest
    single-site cluster the highest among the others; ambient temperature their mean. Unchanged at ``top`` sites
    or fewer."""
    if "site" not in ds.dims or ds.sizes["site"] <= top:
        return ds
    used = ds["it_power_mw"].sum("month").values if "it_power_mw" in ds else np.zeros(ds.sizes["site"])
    cap = ds["it_capacity_mw"].max("month").values if "it_capacity_mw" in ds else np.zeros(ds.sizes["site"])
    order = np.lexsort((-cap, -used))  # most IT energy first, then most capacity
    keep, rest = ds["site"].values[order[:top]], ds["site"].values[order[top:]]
    per_site = [n for n, v in ds.data_vars.items() if "site" in v.dims and np.issubdtype(v.dtype, np.number)]
    drawn = ds[per_site].reset_coords(drop=True)  # site coordinates (design PUE, ...) are not drawn
    shown, others = drawn.sel(site=keep), drawn.sel(site=rest)
    agg = {}
    for name in per_site:
        v = others[name]
        if name in _MAX:
            agg[name] = v.max("site")
        elif name in _MEAN:
            agg[name] = v.mean("site")
        elif name == "pue_mean" and "it_power_mw" in others:
            w = others["it_power_mw"]
            total = w.sum("site")
            agg[name] = xr.where(total > 0, (v * w).sum("site") / total.where(total > 0, 1.0), v.mean("site"))
        else:
            agg[name] = v.sum("site")
    label = f"others ({rest.size} sites)"
    rest_ds = xr.Dataset(agg).expand_dims(site=[label])
    return xr.concat([shown, rest_ds], dim="site", coords="minimal", compat="override")
