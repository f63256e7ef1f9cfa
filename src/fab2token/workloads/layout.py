"""The fastest training layout that fits: every combination of tensor, pipeline and data parallelism, micro-batch,
interleaving, recomputation and ZeRO stage the model and cluster allow, evaluated in one call of the performance
model (:func:`fab2token.workloads.training.estimate_mfu`, arrays) and of the memory model, as Calculon searches.

A layout is allowed when TP divides the attention heads and stays within the accelerator's scale-up domain (TP's
collectives run on it), TP x PP divides the cluster (whole data-parallel replicas), the global batch holds at least
one micro-batch per replica, and every pipeline chunk holds a layer (stages may differ by one layer: the model
counts ``layers / pp`` per stage). The user may fix any part; the
rest is searched. Expert parallelism (an MoE model's routed experts over ``ep`` data-parallel ranks) and context
parallelism (each sequence over ``cp`` ranks, its ``2 x cp`` chunks dividing the sequence) are searched too. Values
that cannot divide the cluster (or, for experts, a dense model) are dropped before the grid is formed, so the grid
stays small however many parts are searched.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from fab2token import catalog
from fab2token.errors import ModelError
from fab2token.workloads.architecture import flops_per_token_training, model_spec
from fab2token.workloads.memory import RECOMPUTE_MODES, memory_per_accelerator_gb
from fab2token.workloads.perf import routed_expert_params, shape_from_spec
from fab2token.workloads.training import _known, estimate_for_catalog, peak_flop_per_s

__all__ = ["SEARCHED", "PRECISION_RECIPES", "search_layout", "search_any_precision"]

#: the parts of a layout searched, and the values tried (TP and PP are further limited by the model and cluster)
SEARCHED: dict[str, tuple[Any, ...]] = {
    "tp": (1, 2, 4, 8, 16, 32, 64),
    "pp": tuple(range(1, 129)),
    "micro_batch": (1, 2, 4, 8),
    "virtual_stages": (1, 2, 4, 8),
    "recompute": RECOMPUTE_MODES,
    "zero_stage": (1, 2, 3),
    "ep": (1, 2, 4, 8, 16, 32, 64),
    "cp": (1, 2, 4, 8, 16, 32),
}


def _grid(fixed: dict[str, Any], m: dict[str, Any], count: int, seq: float) -> dict[str, np.ndarray]:
    """Every combination of the searched values (a fixed part holds its one value), as flat arrays; a degree
    that cannot divide the cluster (TP, PP, CP), a PP beyond the layers, a CP whose chunks cannot split the
    sequence or an EP for a dense model is dropped first."""
    experts = m.get("experts")
    moe = isinstance(experts, float | int) and experts > 0
    keep = {
        "tp": lambda x: count % x == 0,
        "pp": lambda x: count % x == 0 and x <= m["layers"],
        "cp": lambda x: count % x == 0 and seq % (2 * x) == 0 or x == 1,
        "ep": lambda x: moe or x == 1,
    }
    values = {
        k: np.array((fixed[k],) if fixed.get(k) is not None else [x for x in v if keep.get(k, bool)(x)])
        for k, v in SEARCHED.items()
    }
    mesh = np.meshgrid(*values.values(), indexing="ij")
    return {k: a.ravel() for k, a in zip(values, mesh, strict=True)}


def _allowed(g: dict[str, np.ndarray], m: dict[str, Any], acc: dict[str, Any], count: int, batch: float, seq: float):
    tp, pp, v = g["tp"].astype(float), g["pp"].astype(float), g["virtual_stages"].astype(float)
    cp = g["cp"].astype(float)
    domain = float(acc["scaleup_domain"]) if _known(acc["scaleup_domain"]) else 1.0
    dp = count / (tp * pp * cp)
    return (
        (m["heads"] % tp == 0)
        & (tp <= domain)
        & (tp * pp * cp <= count)
        & (count % (tp * pp * cp) == 0)
        & ((cp == 1) | (np.mod(seq, 2 * cp) == 0))
        & (pp * v <= m["layers"])  # stages may differ by a layer (Llama 3's 126 layers on 16 stages)
        & ((v == 1) | (pp > 1))
        & (batch / (dp * g["micro_batch"] * seq) >= 1.0)
        & _experts_split(m, g["ep"].astype(float), dp)
    )


def _experts_split(m: dict[str, Any], ep: np.ndarray, dp: np.ndarray) -> np.ndarray:
    """Expert parallelism only for an MoE model, dividing its routed experts and the data-parallel degree."""
    experts = m.get("experts")
    if not (isinstance(experts, float | int) and experts > 0):
        return ep == 1
    return (experts % ep == 0) & (np.mod(dp, ep) == 0)


def search_layout(
    model: str,
    accelerator: str,
    count: int,
    seq_len: int | None = None,
    global_batch_tokens: float = 16e6,
    recipe: str = "mixed-adam",
    precision: str = "bf16",
    fixed: dict[str, Any] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    attention_kernel: str = "auto",
) -> dict[str, Any]:
    """The fastest layout that fits in HBM, with its iteration time, MFU and memory, and how many layouts were
    evaluated and fitted. ``fixed`` holds the parts the user chose (``tp``, ``pp``, ``micro_batch``,
    ``virtual_stages``, ``recompute``, ``zero_stage``, ``ep``, ``cp``).

    Parameters
    ----------
    model, accelerator : str
        Catalog names or aliases.
    count : int
        Accelerators in the cluster.
    seq_len : int, optional
        Sequence length (default: the model's context, at most 8,192).
    global_batch_tokens : float
        Tokens per iteration.
    recipe, precision : str
        State bytes per parameter and the peak rate, as :func:`fab2token.workloads.training.train`.
    fixed : dict, optional
        The parts of the layout the user chose.
    overrides : dict, optional
        Catalog rows to add or change, by table.
    attention_kernel : str
        The attention kernel, as :func:`fab2token.workloads.training.train`.

    Returns
    -------
    dict
        ``layout`` (with ``dp``), ``iteration_s``, ``mfu``, ``memory_per_accelerator_gb``, and the counts of layouts
        screened, evaluated and fitting, and ``search_s``.

    Raises
    ------
    ModelError
        No allowed layout, or none that fits (the smallest memory found is given).
    """
    t0 = time.perf_counter()
    overrides = overrides or {}
    m = model_spec(model, overrides.get("models"))
    acc = catalog.lookup("accelerators", accelerator, overrides.get("accelerators"))
    peak = peak_flop_per_s(acc, precision)
    seq = float(seq_len or min(m["context"], 8192))
    g = _grid(fixed or {}, m, count, seq)
    keep = _allowed(g, m, acc, count, global_batch_tokens, seq)
    if not keep.any():
        raise ModelError(f"no layout of {m['name']} on {count:,} x {acc['name']} is allowed with {fixed or {}}")
    g = {k: v[keep] for k, v in g.items()}
    dp = count / (g["tp"] * g["pp"] * g["cp"])
    est = _estimate(m, acc, g, count, seq, global_batch_tokens, peak, recipe, precision, attention_kernel)
    mem = memory_per_accelerator_gb(
        m["params_total"],
        m["layers"],
        m["hidden"],
        m["heads"],
        seq,
        g["micro_batch"],
        g["tp"],
        g["pp"],
        dp,
        g["zero_stage"],
        recipe,
        g["recompute"],
        routed_expert_params(shape_from_spec(m)),
        g["ep"],
        g["cp"],
    )
    fits = (mem["total_gb"] <= float(acc["hbm_gb"])) & np.isfinite(est["iteration_s"])
    if not fits.any():
        least = float(np.min(mem["total_gb"]))
        raise ModelError(
            f"no layout of {m['name']} on {count:,} x {acc['name']} fits in {acc['hbm_gb']:g} GB: the least memory "
            f"of {int(keep.sum()):,} layouts is {least:.1f} GB per accelerator; use more accelerators or fix fewer parts"
        )
    best = int(np.argmin(np.where(fits, est["iteration_s"], np.inf)))
    layout = {k: (str(v[best]) if k == "recompute" else int(v[best])) for k, v in g.items()}
    return {
        "layout": layout | {"dp": int(dp[best])},
        "iteration_s": float(est["iteration_s"][best]),
        "mfu": float(est["mfu"][best]),
        "memory_per_accelerator_gb": {k: float(v[best]) for k, v in mem.items()},
        "layouts_screened": int(keep.size),
        "layouts_evaluated": int(keep.sum()),
        "layouts_fitting": int(fits.sum()),
        "fixed": dict(fixed or {}),
        "precision": precision,
        "recipe": recipe,
        "search_s": time.perf_counter() - t0,
    }


#: the precision recipes ``search_layout(precision="any")`` compares: BF16 with mixed-precision Adam, and FP8 where
#: the accelerator computes in it, with the fp8-adam recipe's state bytes (:data:`fab2token.workloads.memory.RECIPES`)
PRECISION_RECIPES = (("bf16", "mixed-adam"), ("fp8", "fp8-adam"))


def search_any_precision(model: str, accelerator: str, count: int, **kw: Any) -> dict[str, Any]:
    """:func:`search_layout` for each of :data:`PRECISION_RECIPES` the accelerator computes in, the fastest
    returned (its ``precision`` and ``recipe`` say which, ``iteration_s_by_precision`` what each gave; MFU is
    against the chosen precision's peak)."""
    overrides = kw.get("overrides") or {}
    acc = catalog.lookup("accelerators", accelerator, overrides.get("accelerators"))
    listed = catalog.precisions(acc)
    found, errors = {}, []
    for precision, recipe in PRECISION_RECIPES:
        if precision == "fp8" and (not _known(acc["dense_fp8_flop_per_s"]) or (listed and "fp8" not in listed)):
            continue
        try:
            found[precision] = search_layout(model, accelerator, count, recipe=recipe, precision=precision, **kw)
        except ModelError as exc:
            errors.append(str(exc))
    if not found:
        raise ModelError(errors[0])
    best = min(found.values(), key=lambda r: r["iteration_s"])
    return best | {"iteration_s_by_precision": {p: r["iteration_s"] for p, r in found.items()}}


def _estimate(
    m: dict[str, Any],
    acc: dict[str, Any],
    g: dict[str, np.ndarray],
    count: int,
    seq: float,
    batch: float,
    peak: float,
    recipe: str,
    precision: str,
    attention_kernel: str = "auto",
) -> dict[str, np.ndarray]:
    """The performance model on every layout of the grid in one call (as :func:`train` calls it for one)."""
    fpt = float(flops_per_token_training(m["params_active"], m["layers"], m["heads"], m["head_dim"], seq))
    opts = {"precision": precision, "recipe": recipe, "attention_kernel": attention_kernel}
    return estimate_for_catalog(m, acc, fpt, seq, batch, count, peak, g, opts)
