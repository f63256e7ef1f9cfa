"""Matmul efficiency by GEMM shape: how far below its large-shape rate a GEMM of ``m x k`` by ``k x n`` runs.

The catalog's ``compute_efficiency_frac`` is the maximum achievable matmul rate, reached at large shapes. Smaller
GEMMs (a small model's hidden size, a tensor-parallel shard, an expert's few tokens) run slower. Where the catalog
holds a measured table of BF16 GEMM throughput by shape for a part (``catalog/gemm_shapes.csv``: OpenXLA's own
table, measured with CUPTI kernel times over ``m, n, k`` in 256..4096), a GEMM runs at the catalog rate times

    factor(m, n, k) = rate(m, n, k) / rate(largest shape of the table), capped at 1,

the measured rate interpolated linearly in ``log rate`` over ``log2 m, log2 n, log2 k`` and held at the table's edge
beyond it. Beyond the largest shape the rate is taken as saturated, as XLA itself extrapolates it ("FLOPS saturate
at a certain point; that is, the hardware reaches peak FLOPS beyond a certain matrix shape": OpenXLA
docs/lhs_cost_model.md). Parts without a table, and FP8 GEMMs (no trustworthy per-shape FP8 table is published for
them), keep the large-shape rate: a factor of 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog
from fab2token.errors import CatalogError

__all__ = ["GemmTable", "gemm_table"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class GemmTable:
    """A part's measured GEMM rates on a grid shared by ``m``, ``n`` and ``k`` (:func:`gemm_table`)."""

    name: str
    log2_grid: Array  # log2 of the grid's sizes, ascending
    log_rate: Array  # (m, n, k) log of the measured FLOP/s

    def factor(self, m: ArrayLike, n: ArrayLike, k: ArrayLike) -> Array:
        """The rate at ``(m, n, k)`` over the table's largest shape's, capped at 1 (module docstring); broadcasts."""
        g = self.log2_grid
        idx, frac = [], []
        for x in np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (m, n, k))):
            p = np.clip(np.log2(np.maximum(x, 1.0)), g[0], g[-1])
            i = np.clip(np.searchsorted(g, p, side="right") - 1, 0, len(g) - 2)
            idx.append(i)
            frac.append((p - g[i]) / (g[i + 1] - g[i]))
        out = 0.0
        for corner in np.ndindex(2, 2, 2):  # the 8 corners of the cell, trilinear weights
            w = np.ones_like(frac[0])
            for f, c in zip(frac, corner, strict=True):
                w = w * (f if c else 1.0 - f)
            out = out + w * self.log_rate[idx[0] + corner[0], idx[1] + corner[1], idx[2] + corner[2]]
        return np.minimum(np.exp(out - self.log_rate[-1, -1, -1]), 1.0)


@cache
def gemm_table(name: str) -> GemmTable | None:
    """The measured GEMM table of accelerator ``name`` (a canonical ``accelerators.csv`` name), or None."""
    rows = [r for r in catalog.table_rows("gemm_shapes") if r["name"] == name]
    if not rows:
        return None
    sizes = np.array(sorted({float(r[c]) for r in rows for c in ("m", "n", "k")}))
    rate = np.full((len(sizes),) * 3, np.nan)
    for r in rows:
        i, j, k = (int(np.searchsorted(sizes, float(r[c]))) for c in ("m", "n", "k"))
        rate[i, j, k] = float(r["bf16_flop_per_s"])
    if not np.all(np.isfinite(rate) & (rate > 0)):
        raise CatalogError(f"catalog/gemm_shapes.csv: {name}'s rows do not fill the grid {sizes.astype(int).tolist()}")
    return GemmTable(name, np.log2(sizes), np.log(rate))
