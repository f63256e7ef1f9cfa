"""How far the training performance model (``workloads.perf``, behind ``training.estimate_mfu``) is from published
training runs (not a test; the asserting twin is ``tests/reference/test_training_reference.py``, which holds the
published figures, their sources and the configurations).

Printed per run: the published iteration time (Narayanan et al. 2021 Table 1: from the achieved hardware
teraFLOP/s per GPU and the paper's eq. 3 FLOP count; Korthikanti et al. 2022 Table 5: as published), ours, the
error (ours / published - 1; MFU error is its inverse, the FLOP count being the same), the MFU in fab2token's count
(6 N + causal attention) and where our time goes. Then median and maximum |error| per table and over all rows.

Then MosaicML's MPT benchmarks on H100 (``tests/reference/test_mosaicml_training_reference.py``, every row an expected
failure: the model is far faster than those runs). Then Llama 3 405B on H100 (Llama Team 2024, Table 4; the asserting twin is
``tests/reference/test_llama3_training_reference.py``): the layout its text gives, the interleaving and micro-batch it
does not give from the layout search, MFU against TFLOPs/GPU / 989.
"""

from __future__ import annotations

import numpy as np
from tests.reference.test_llama3_training_reference import H100_BF16_TFLOPS, LLAMA3_TABLE_4, modelled
from tests.reference.test_mosaicml_training_reference import modelled as mosaicml
from tests.reference.test_mosaicml_training_reference import rows as mosaicml_rows
from tests.reference.test_training_reference import (
    KORTHIKANTI_TABLE_5,
    NARAYANAN_TABLE_1,
    TOLERANCE,
    korthikanti,
    narayanan,
)

from benchmarks.common import best_time

PARTS = (
    ("compute_s", "compute"),
    ("recompute_s", "recompute"),
    ("tp_comm_s", "TP"),
    ("bubble_s", "bubble"),
    ("pp_comm_s", "PP"),
    ("dp_comm_exposed_s", "DP"),
    ("grad_accumulation_s", "grad-acc"),
    ("optimizer_s", "optim"),
)


def _print_rows(labels: list[str], r: dict[str, np.ndarray]) -> np.ndarray:
    err = r["ours_s"] / r["published_s"] - 1.0
    mfu_pub = r["mfu"] * r["iteration_s"] / r["published_s"]
    for k, label in enumerate(labels):
        shares = ", ".join(f"{name} {float(r[key][k] / r['iteration_s'][k]):.0%}" for key, name in PARTS)
        flag = "" if abs(err[k]) <= TOLERANCE else "  (outside +-15 %)"
        print(
            f"  {label:<26s} published {float(r['published_s'][k]):7.2f} s  ours {float(r['ours_s'][k]):7.2f} s  "
            f"error {float(err[k]):+6.1%}  MFU {float(mfu_pub[k]):.3f} / {float(r['mfu'][k]):.3f}{flag}"
        )
        print(f"  {'':<26s} {shares}")
    return err


def _summary(name: str, err: np.ndarray) -> None:
    a = np.abs(err)
    print(
        f"  {name}: median |error| {np.median(a):.1%}, max {a.max():.1%}, within +-15 %: {(a <= TOLERANCE).sum()}/{a.size}"
    )


def main() -> None:
    print("Narayanan et al. 2021, Table 1 (A100, full recomputation, 1F1B, micro-batch 1, fp16):")
    n21 = narayanan()
    labels = [f"{p:g}B TP{tp} PP{pp} {g} GPUs" for p, _, _, _, tp, pp, g, _, _ in NARAYANAN_TABLE_1]
    e1 = _print_rows(labels, n21)
    _summary("Table 1", e1)
    errs = [e1]
    for mode, title in (("full", "full recomputation"), ("seqsel", "sequence parallel + selective")):
        print(f"Korthikanti et al. 2022, Table 5 ({title}):")
        r = korthikanti(mode)
        labels = [f"{row[0]} TP{row[4]} PP{row[5]} {row[6]} GPUs" for row in KORTHIKANTI_TABLE_5]
        errs.append(_print_rows(labels, r))
        _summary(f"Table 5 {mode}", errs[-1])
    allerr = np.concatenate(errs)
    print("All reference rows:")
    _summary("overall", allerr)
    print(f"  signed error: min {allerr.min():+.1%}, median {np.median(allerr):+.1%}, max {allerr.max():+.1%}")

    print("Llama 3 405B on H100 (Table 4): published layout, interleaving and micro-batch searched:")
    l3 = []
    for i, (gpus, tp, cp, pp, dp, seq, _, tflops) in enumerate(LLAMA3_TABLE_4):
        r, published = modelled(i), tflops / H100_BF16_TFLOPS
        l3.append(r["mfu"] / published - 1.0)
        lay = r["layout"]
        print(
            f"  {gpus:6d} GPUs TP{tp} CP{cp} PP{pp} DP{dp} seq {seq:,}: V {lay['virtual_stages']}, micro-batch "
            f"{lay['micro_batch']}; published MFU {published:.3f}, ours {r['mfu']:.3f} (error {l3[-1]:+.1%})"
        )
    _summary("Table 4", np.array(l3))
    print("MosaicML llm-foundry MPT on H100 (77 rows; FSDP, published micro-batches and checkpointing), tokens/s/GPU:")
    mm = mosaicml()
    err = mm["ours"] / mm["published"] - 1.0
    for name in dict.fromkeys(x["Model"] for x in mosaicml_rows()):
        k = np.array([x["Model"] == name for x in mosaicml_rows()])
        print(f"  MPT-{name:<5s} {k.sum():2d} rows: error {err[k].min():+.0%} to {err[k].max():+.0%}")
    _summary("MosaicML", err)
    t = best_time(lambda: (narayanan.__wrapped__(), korthikanti.__wrapped__("full")), repeat=5)
    print(f"Model time for the 14 Table 1 + Table 5 configurations (two vectorised calls): {t * 1e3:.2f} ms")
