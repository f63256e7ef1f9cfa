"""DeepSeek-V3 decode throughput under wide expert parallelism on H100, from the serving model (``infer --ep``),
against published deployments (issue 15: MoE at scale).

Sources
-------
[SGL] LMSYS, "Deploying DeepSeek with PD Disaggregation and Large-scale Expert Parallelism on 96 H100 GPUs"
      (2025-05-05; lm-sys/lm-sys.github.io, blog/2025-05-05-large-scale-ep.md, commit 2db4e4042b31f3c3c9f4f93068ae8
      0946d25a115): decode on 9 nodes of 8 H100, "EP72", DP attention (``--enable-dp-attention``, dense FFN data-
      parallel), two-batch overlap, DeepEP low-latency all-to-all, 32 redundant experts; its decode table: "SGLang
      (Default)" batch size 256, KV length 2,000, 9 nodes, 22,282 tokens/s per node; and, derived by LMSYS from
      DeepSeek's profile data, "DeepSeek Profile" batch size 128, KV length 4,096, 16 nodes, 18,598 tokens/s per node.
[DSP] deepseek-ai/profile-data README (commit 449602428a1b023acb8a505d4f34fef536535db6): "For decoding, the profile
      employs EP128, TP1, and a prompt length of 4K ... with a batch size of 128 requests per GPU".
[DS6] deepseek-ai/open-infra-index, 202502OpenSourceWeek/day_6_one_more_thing_deepseekV3R1_inference_system_overview.md
      (commit 56d86855): "matrix multiplications and dispatch transmissions adopt the FP8 format ..., while core MLA
      computations and combine transmissions use the BF16 format"; decode overlaps two micro-batches.
[DEP] deepseek-ai/DeepEP README at commit ebfe47e46fa86a5b41be96c326a92f62ed6721da (2025-02-24), "Low-latency kernels
      with pure RDMA": H800, CX7 400 Gb/s (~50 GB/s), 128 tokens, hidden 7168, top-8, FP8 dispatch / BF16 combine;
      dispatch 163-194 us, combine 318-369 us at EP 8-256, i.e. 0.75-0.84 (median 0.79) of the NIC's line rate in
      this model's byte count (``ep_all_to_all_rdma_efficiency_frac``, catalog/overheads.csv).

Settings, each from the sources: FP8 weights, DP attention (TP 1) and the experts over all 72 or 128 GPUs, decode
only (the prefill runs on other nodes), the published batch per GPU at a mean context of the published KV length,
the KV cache in BF16 (the sources do not state its format; the MLA core runs in BF16 [DS6]). The catalog's
scale-out NIC (400 Gb/s per GPU) carries the all-to-all (the replica spans many nodes; DeepEP's low-latency mode is
RDMA only), at the share of its line rate DeepEP's own benchmark of those kernels reaches ([DEP], 0.79). The serving
engine efficiency is the catalog's, fitted once on NVIDIA's TensorRT-LLM figures, not here.

In-sample note: three mechanisms were added to the model after this test first showed it 33 % slow on the SGLang
row and then fast on both: the dispatch in FP8 and the combine in BF16 [DS6], two-batch overlap ([SGL], [DS6]), and
MLA's absorbed decode attention (each query head scores against and reads the 576-wide latent KV, in the KV cache's
BF16 [DS6], not the FP8 rate of the weights). All three are the deployments' or the architecture's own published
mechanisms, with no parameter to set, so none was fitted; but they were chosen knowing these residuals. With them the
model was 23 % (SGLang) and 35 % (DeepSeek profile) fast. A fourth followed, again knowing the residuals: the
all-to-all at the rate DeepEP's benchmark of its low-latency kernels measures ([DEP]; 0.79 of the NIC's line rate,
taken from that benchmark's own table, not fitted here), in place of the bare line rate.

Result: the model is 3 % slow on the SGLang row (within tolerance; bound by the all-to-all) and 15.5 % fast on the
DeepSeek profile row (an expected failure, ``xfail(strict=True)``). What it still leaves out: expert load imbalance
(the redundant experts balance it only in part) and the overlap's imperfection. Tolerance +-15 %. Because the four
mechanisms were chosen knowing the residuals, the SGLang row's pass is partly in-sample.
"""

from __future__ import annotations

from functools import cache

import pytest

from fab2token import catalog
from fab2token.workloads.architecture import model_spec
from fab2token.workloads.inference import replica

TOLERANCE = 0.15
# label, GPUs in the decode instance (EP), batch per GPU, KV length, published tokens/s per node of 8 GPUs
ROWS = [("SGLang default (EP72)", 72, 256, 2000, 22282), ("DeepSeek profile (EP128)", 128, 128, 4096, 18598)]
MISSING = "expert load imbalance and the two-batch overlap's imperfection are not modelled (+15.5 %)"
EXPECTED_TO_FAIL = {"DeepSeek profile (EP128)"}


@cache
def modelled(i: int) -> tuple[float, float]:
    """(published, modelled) decode tokens/s per GPU of row ``i``."""
    _, gpus, per_gpu, kv_len, per_node = ROWS[i]
    m, acc = model_spec("deepseek-v3"), catalog.lookup("accelerators", "H100")
    # output length 2: the mean context while decoding, input + output / 2, is the published KV length (+1)
    r = replica(m, acc, 1, "fp8", kv_len, 2, kv_precision="bf16", ep=gpus)
    step = float(r.step(gpus * per_gpu, prefill_in_step=False)["step_s"])
    return per_node / 8.0, per_gpu / step


def test_the_batch_fits_in_memory():
    # the published batch's KV cache fits beside the weights in every row (the model would not run it otherwise)
    m, acc = model_spec("deepseek-v3"), catalog.lookup("accelerators", "H100")
    for _, gpus, per_gpu, kv_len, _ in ROWS:
        assert float(replica(m, acc, 1, "fp8", kv_len, 2, kv_precision="bf16", ep=gpus).max_batch) >= gpus * per_gpu


@pytest.mark.parametrize(
    "i",
    [
        pytest.param(i, marks=[pytest.mark.xfail(strict=True, reason=MISSING)] if ROWS[i][0] in EXPECTED_TO_FAIL else [])
        for i in range(len(ROWS))
    ],
    ids=[r[0] for r in ROWS],
)  # fmt: skip
def test_decode_throughput_within_tolerance(i: int):
    published, ours = modelled(i)
    assert ours == pytest.approx(published, rel=TOLERANCE)


def validation_rows() -> list[dict]:
    """Both rows evaluated now, for the validation page (expected failures: the gap is the measured one)."""
    return [
        {
            "case": f"DeepSeek-V3 decode, {row[0]}, {row[2]} a GPU, KV {row[3]:,}",
            "published": modelled(i)[0],
            "ours": modelled(i)[1],
            "unit": "tokens/s per GPU",
            "tolerance": TOLERANCE,
        }
        for i, row in enumerate(ROWS)
    ]
