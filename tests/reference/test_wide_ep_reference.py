"""DeepSeek-V3 decode and prefill throughput under wide expert parallelism on H100 and H800, from the serving model
(``infer --ep``, ``infer --disaggregate``), against published deployments (issue 15: MoE at scale).

Sources
-------
[SGL] LMSYS, "Deploying DeepSeek with PD Disaggregation and Large-scale Expert Parallelism on 96 H100 GPUs"
      (2025-05-05; lm-sys/lm-sys.github.io, blog/2025-05-05-large-scale-ep.md, commit 2db4e4042b31f3c3c9f4f93068ae8
      0946d25a115): prefill on 4 nodes of 8 H100 (EP32), its prefill table at 16,384 tokens per device and input
      length 4,096: "SGLang (Default)" 50,302 tokens/s per node, "SGLang + Simulated Perfect EPLB" 59,337, and, derived
      from DeepSeek's profile, "DeepSeek Profile" 62,713; decode on 9 nodes of 8 H100, "EP72", DP attention (``--enable-dp-attention``, dense FFN data-
      parallel), two-batch overlap, DeepEP low-latency all-to-all, 32 redundant experts; its decode table: "SGLang
      (Default)" batch size 256, KV length 2,000, 9 nodes, 22,282 tokens/s per node; and, derived by LMSYS from
      DeepSeek's profile data, "DeepSeek Profile" batch size 128, KV length 4,096, 16 nodes, 18,598 tokens/s per node.
[DSP] deepseek-ai/profile-data README (commit 449602428a1b023acb8a505d4f34fef536535db6): "we simulate an absolutely
      balanced MoE routing strategy for profiling"; "For prefilling, the profile employs EP32 and TP1 ..., with a
      prompt length set to 4K and a batch size of 16K tokens per GPU"; "For decoding, the profile
      employs EP128, TP1, and a prompt length of 4K ... with a batch size of 128 requests per GPU".
[DS6] deepseek-ai/open-infra-index, 202502OpenSourceWeek/day_6_one_more_thing_deepseekV3R1_inference_system_overview.md
      (commit 56d86855): "matrix multiplications and dispatch transmissions adopt the FP8 format ..., while core MLA
      computations and combine transmissions use the BF16 format"; "All DeepSeek-V3/R1 inference services are
      served on H800 GPUs"; decode overlaps two micro-batches.
[DEP] deepseek-ai/DeepEP README at commit ebfe47e46fa86a5b41be96c326a92f62ed6721da (2025-02-24), "Low-latency kernels
      with pure RDMA": H800, CX7 400 Gb/s (~50 GB/s), 128 tokens, hidden 7168, top-8, FP8 dispatch / BF16 combine;
      dispatch 163-194 us, combine 318-369 us at EP 8-256, i.e. 0.75-0.84 (median 0.79) of the NIC's line rate in
      this model's byte count (``ep_all_to_all_rdma_efficiency_frac``, catalog/overheads.csv); "Normal kernels with
      NVLink and RDMA forwarding", 4,096 tokens, top-4 groups, top-8: internode bottleneck bandwidth 43-47 GB/s, median
      0.89 of the NIC (``ep_all_to_all_normal_efficiency_frac``).

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

Prefill (the disaggregated prefill pool: ``workloads/disaggregate.py``), the same settings, 4 prompts of 4,096 tokens
a GPU (16,384 tokens) over EP32, GEMMs in FP8, MLA unabsorbed in BF16 (queries and keys 192 wide, values 128: the
model's config; SGLang runs prefill without a cached prefix on its MHA path), the dispatch and combine by DeepEP's
normal kernels once per destination node ([SGL]: "normal dispatch for the prefill phase"), at DeepEP's measured
0.89 of the NIC ([DEP]). The DeepSeek profile row runs on H800 ([DS6]); the SGLang rows on H100. The model has no
expert imbalance: DeepSeek's profile and SGLang's simulated perfect EPLB are balanced ([DSP]), SGLang's default row
is not (its EPLB ablation: 1.49x on prefill), so the model should sit above that row. In-sample note: the model was
65 % slow on these rows with the decode's low-latency all-to-all (every token's copy to each of its 8 experts at 0.79
of the NIC); the normal kernels were added knowing that, though the mechanism is the deployment's own and the rate
DeepEP's benchmark, not fitted here. Result: -14.9 % (DeepSeek profile), -10.1 % (SGLang, perfect EPLB), +6.1 %
(SGLang default), each within +-15 % (the first near its edge). The model is bound by the all-to-all at this size,
so it is flat in prompt length, while SGLang's default rows fall 13 % from 1K to 4K (57,674 / 54,543 / 50,302; their
batch is not stated, so they are not rows here).
"""

from __future__ import annotations

from functools import cache

import pytest

from fab2token import catalog
from fab2token.workloads.architecture import model_spec
from fab2token.workloads.disaggregate import prefill_step_s
from fab2token.workloads.inference import replica

TOLERANCE = 0.15
# label, GPUs in the decode instance (EP), batch per GPU, KV length, published tokens/s per node of 8 GPUs
ROWS = [("SGLang default (EP72)", 72, 256, 2000, 22282), ("DeepSeek profile (EP128)", 128, 128, 4096, 18598)]
MISSING = "expert load imbalance and the two-batch overlap's imperfection are not modelled (+15.5 %)"
EXPECTED_TO_FAIL = {"DeepSeek profile (EP128)"}


# label, accelerator, published prefill tokens/s per node of 8 GPUs (EP32, 16,384 tokens a GPU, prompts of 4,096)
PREFILL_ROWS = [
    ("DeepSeek profile (balanced)", "H800", 62713),
    ("SGLang, simulated perfect EPLB", "H100", 59337),
    ("SGLang default (expert imbalance)", "H100", 50302),
]
PREFILL_EP, PREFILL_TOKENS_PER_GPU, PREFILL_PROMPT = 32, 16384, 4096


@cache
def prefill_modelled(i: int) -> tuple[float, float]:
    """(published, modelled) prefill tokens/s per node of 8 GPUs of prefill row ``i``."""
    _, accelerator, per_node = PREFILL_ROWS[i]
    m, acc = model_spec("deepseek-v3"), catalog.lookup("accelerators", accelerator)
    r = replica(m, acc, 1, "fp8", PREFILL_PROMPT, 2, kv_precision="bf16", ep=PREFILL_EP)
    prompts = PREFILL_EP * PREFILL_TOKENS_PER_GPU / PREFILL_PROMPT
    return float(per_node), 8.0 * PREFILL_TOKENS_PER_GPU / float(prefill_step_s(r, prompts))


@pytest.mark.parametrize("i", range(len(PREFILL_ROWS)), ids=[r[0] for r in PREFILL_ROWS])
def test_prefill_throughput_within_tolerance(i: int):
    published, ours = prefill_modelled(i)
    assert ours == pytest.approx(published, rel=TOLERANCE)


def test_prefill_sits_above_the_imbalanced_row():
    # the model has no expert imbalance, so it must beat SGLang's default-EPLB row (imbalance costs it 1.49x [SGL])
    published, ours = prefill_modelled(2)
    assert ours > published


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
    ] + [
        {
            "case": f"DeepSeek-V3 prefill, {row[0]}, EP32 on {row[1]}, 16,384 tokens a GPU, prompts of 4,096",
            "published": prefill_modelled(i)[0] / 8.0,
            "ours": prefill_modelled(i)[1] / 8.0,
            "unit": "prompt tokens/s per GPU",
            "tolerance": TOLERANCE,
        }
        for i, row in enumerate(PREFILL_ROWS)
    ]
