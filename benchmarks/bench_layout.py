"""The training layout search: layouts evaluated per second in one vectorised call beside the same layouts through
the scalar train() one at a time (measured side by side), and the whole search for one model and cluster size."""

from __future__ import annotations

import itertools
import time

from benchmarks.common import paired
from fab2token.workloads.layout import search_layout
from fab2token.workloads.training import train

FIXED = {"recompute": "selective", "zero_stage": 1}
ARGS = ("llama-3-8b", "H100", 64)
KW = {"seq_len": 4096, "global_batch_tokens": 4 * 2**20}


def _scalar() -> int:
    n = 0
    grid = itertools.product((1, 2, 4, 8), (1, 2, 4, 8, 16, 32), (1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8, 16, 32))
    for tp, pp, mb, v, cp in grid:
        r = tp * pp * cp
        if (
            64 % r
            or (v > 1 and pp == 1)
            or pp * v > 32
            or KW["global_batch_tokens"] / (64 / r * mb * 4096) < 1
            or 4096 % (2 * cp)
        ):
            continue
        train(*ARGS[:1], 1e12, *ARGS[1:], tp=tp, pp=pp, micro_batch=mb, virtual_stages=v, cp=cp, **KW, **FIXED)
        n += 1
    return n


def main() -> None:
    found = search_layout(*ARGS, **KW, fixed=FIXED)
    p = paired(lambda: search_layout(*ARGS, **KW, fixed=FIXED), _scalar, rounds=5)
    n = found["layouts_evaluated"]
    print(f"layout search, Llama-3-8B on 64 H100, {n} layouts: " + p.text("vectorised search", "scalar train() loop"))
    for model, acc, count, *seq in (
        ("llama-3.1-405b", "H100", 16384),
        ("llama-3-70b", "H100", 4096),
        ("deepseek-v3", "H100", 2048),
        ("llama-3.1-405b", "H100", 16384, 131072),
    ):
        t0 = time.perf_counter()
        try:
            r = search_layout(model, acc, count, *seq)
        except Exception as exc:  # a benchmark prints what it could not do
            print(f"{model} on {count:,} x {acc}: {type(exc).__name__}: {exc}")
            continue
        dt = time.perf_counter() - t0
        print(
            f"{model} on {count:,} x {acc}{f' at {seq[0]:,} tokens' if seq else ''}: search {dt:.3f} s (goal: under 1 s) over {r['layouts_screened']:,} "
            f"combinations, {r['layouts_evaluated']:,} allowed ({r['layouts_fitting']:,} fit); best {r['layout']}, "
            f"MFU {r['mfu']:.3f}"
        )
    _throughput()


def _throughput() -> None:
    """The performance and memory models on 100,000+ allowed layouts in one call (the allowed layouts of 405B on
    16,384 H100, repeated)."""
    import numpy as np

    from fab2token import catalog
    from fab2token.workloads.architecture import model_spec
    from fab2token.workloads.layout import _allowed, _estimate, _grid

    m, acc = model_spec("llama-3.1-405b"), catalog.lookup("accelerators", "H100")
    g = _grid({}, m, 16384, 8192.0)
    keep = _allowed(g, m, acc, 16384, 16e6, 8192.0)
    reps = int(np.ceil(100_000 / keep.sum()))
    big = {k: np.tile(v[keep], reps) for k, v in g.items()}
    t0 = time.perf_counter()
    _estimate(m, acc, big, 16384, 8192.0, 16e6, float(acc["dense_bf16_flop_per_s"]), "mixed-adam", "bf16")
    dt = time.perf_counter() - t0
    n = big["tp"].size
    print(f"performance model: {n:,} layouts in {dt:.3f} s = {n / dt:,.0f} layouts/s (goal: 100,000 layouts/s)")
