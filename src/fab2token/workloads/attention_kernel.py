"""The attention core's rate in training, by kernel, part, head dimension and sequence length.

Which attention kernel a run uses is a property of its software, not of the part: FlashAttention-2 reaches "only
35% utilization on the H100 GPU" where FlashAttention-3 reaches 75 % (FlashAttention-3 paper, arXiv:2407.08608,
abstract). The kernel is a training option (``attention_kernel``):

- ``fa2``, ``fa3``: FlashAttention-2 or -3 at the rates published for the part (``catalog/attention_kernels.csv``:
  TFLOP/s by pass, causal mask, head dimension and sequence length, each row with its source; FLOPs counted as the
  papers count them, ``4 s^2 d h`` forward, halved when causal, 2.5x that backward: the performance model's own
  count);
- ``auto`` (the default): the newest of these with published rates for the part, else ``flat``;
- ``flat``: one share of the part's BF16 peak for both passes at every shape (``overheads.csv``
  ``flash_attention_efficiency_frac``: FlashAttention-2 on A100, the low end of its paper's range), for a part or a
  kernel without published rates.

Training attention is causal. From the published rows, in this order:

1. causal forward and causal backward rows: used as they are;
2. causal forward, non-causal forward and non-causal backward rows (FlashAttention-3's paper publishes no causal
   backward): the causal backward rate is the causal forward rate times the non-causal backward / forward ratio at
   the same shape (the mask is taken to cost both passes the same share; a test checks this rule against
   FlashAttention-2's published causal forward + backward figures on H100);
3. causal forward + backward rows only (FlashAttention-2 on A100): both passes at that rate, which keeps their sum
   exact (``f / r + 2.5 f / r = 3.5 f / r``).

Rates are interpolated linearly in ``log rate`` over ``log2`` of the sequence length and of the head dimension,
and held at the table's edges beyond them (the published grids are 512..16k tokens and head dimensions 64 and 128;
a longer sequence is taken as saturated, a wider head as the widest published). The sequence length looked up is
a rank's own queries: under context parallelism ``seq_len / cp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog
from fab2token.errors import CatalogError

__all__ = ["ATTENTION_KERNELS", "AttentionTable", "attention_table", "kernel_used"]

Array = NDArray[np.float64]

#: the ``attention_kernel`` choices (module docstring)
ATTENTION_KERNELS = ("auto", "fa2", "fa3", "flat")
_NEWEST_FIRST = ("fa3", "fa2")


@dataclass(frozen=True)
class AttentionTable:
    """A kernel's causal training rates on one part, on a grid of ``log2`` head dimension x ``log2`` sequence
    length (:func:`attention_table`)."""

    name: str
    kernel: str
    log2_head_dim: Array
    log2_seq: Array
    log_forward: Array  # (head_dim, seq) log FLOP/s
    log_backward: Array

    def rates(self, head_dim: ArrayLike, seq_len: ArrayLike) -> tuple[Array, Array]:
        """Forward and backward FLOP/s at ``head_dim`` and ``seq_len`` (module docstring); broadcasts."""
        h, s = np.broadcast_arrays(np.asarray(head_dim, dtype=float), np.asarray(seq_len, dtype=float))
        (i, fi), (j, fj) = _cell(self.log2_head_dim, h), _cell(self.log2_seq, s)

        def at(log_rate: Array) -> Array:
            if log_rate.shape[0] == 1:  # one head dimension published
                row = log_rate[0]
                return np.exp(row[j] * (1 - fj) + row[j + 1] * fj)
            lo = log_rate[i, j] * (1 - fj) + log_rate[i, j + 1] * fj
            hi = log_rate[i + 1, j] * (1 - fj) + log_rate[i + 1, j + 1] * fj
            return np.exp(lo * (1 - fi) + hi * fi)

        return at(self.log_forward), at(self.log_backward)


def _cell(grid: Array, x: Array) -> tuple[NDArray[np.intp], Array]:
    """The grid cell of ``log2 x`` (clamped to the grid) and the fraction across it."""
    if grid.size == 1:
        return np.zeros(x.shape, dtype=np.intp), np.zeros(x.shape)
    p = np.clip(np.log2(np.maximum(x, 1.0)), grid[0], grid[-1])
    i = np.clip(np.searchsorted(grid, p, side="right") - 1, 0, grid.size - 2)
    return i, (p - grid[i]) / (grid[i + 1] - grid[i])


def attention_table(name: str, kernel: str = "auto") -> AttentionTable | None:
    """The causal training rates of ``kernel`` on accelerator ``name`` (a canonical ``accelerators.csv`` name), or
    None for ``flat`` and where none are published (``auto``: the newest kernel published for the part)."""
    if kernel not in ATTENTION_KERNELS:
        raise CatalogError(f"attention kernel {kernel!r}: expected one of {', '.join(ATTENTION_KERNELS)}")
    if kernel == "flat":
        return None
    for k in _NEWEST_FIRST if kernel == "auto" else (kernel,):
        table = _table(name, k)
        if table is not None:
            return table
    return None


def kernel_used(name: str, kernel: str) -> str:
    """The kernel whose rates an estimate on accelerator ``name`` uses for ``kernel``: ``fa2``, ``fa3`` or ``flat``."""
    table = attention_table(name, kernel)
    return "flat" if table is None else table.kernel


@cache
def _table(name: str, kernel: str) -> AttentionTable | None:
    rows = [r for r in catalog.table_rows("attention_kernels") if r["name"] == name and r["kernel"] == kernel]
    if not rows:
        return None
    dims = np.array(sorted({float(r["head_dim"]) for r in rows}))
    seqs = np.array(sorted({float(r["seq_len"]) for r in rows}))
    grids: dict[tuple[str, str], Array] = {}
    for r in rows:
        grid = grids.setdefault((str(r["pass"]), str(r["causal"])), np.full((dims.size, seqs.size), np.nan))
        grid[np.searchsorted(dims, float(r["head_dim"])), np.searchsorted(seqs, float(r["seq_len"]))] = (
            float(r["tflop_per_s"]) * 1e12
        )
    where = f"catalog/attention_kernels.csv: {name} {kernel}"
    for key, grid in grids.items():
        if not np.all(np.isfinite(grid) & (grid > 0)):
            raise CatalogError(f"{where}: the {key[0]} rows (causal {key[1]}) do not fill the head-dim x seq grid")
    forward, backward = _causal_passes(grids, where)
    return AttentionTable(name, kernel, np.log2(dims), np.log2(seqs), np.log(forward), np.log(backward))


def _causal_passes(grids: dict[tuple[str, str], Array], where: str) -> tuple[Array, Array]:
    """The causal forward and backward rates from the published rows, by the module docstring's three rules."""
    fwd, bwd = grids.get(("forward", "true")), grids.get(("backward", "true"))
    if fwd is not None and bwd is not None:
        return fwd, bwd
    fwd_nc, bwd_nc = grids.get(("forward", "false")), grids.get(("backward", "false"))
    if fwd is not None and fwd_nc is not None and bwd_nc is not None:
        return fwd, fwd * bwd_nc / fwd_nc
    both = grids.get(("forward_backward", "true"))
    if both is not None:
        return both, both
    raise CatalogError(f"{where}: no causal rates can be formed (see fab2token.workloads.attention_kernel)")
