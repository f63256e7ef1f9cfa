"""Serving an MoE model with wide expert parallelism: attention data-parallel over ``ep`` groups, the routed
experts split over all ``tp x ep`` accelerators, their dispatch and combine by hand, two-batch overlap by hand, the
weights each accelerator holds, and the options refused."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from fab2token import catalog
from fab2token.cli.main import app
from fab2token.workloads.architecture import model_spec
from fab2token.workloads.inference import infer, replica
from fab2token.workloads.serving_step import ep_all_to_all_s, step_time_s

DSV3 = model_spec("deepseek-v3")
H100 = catalog.lookup("accelerators", "H100")


def test_dispatch_and_combine_by_hand():
    """72 ranks, 18,432 tokens (256 each), 8 experts a token, hidden 7,168, 58 MoE layers: each rank sends 71/72 of
    256 x 8 copies, dispatched in FP8 (1 byte) and combined in BF16 (2), at 50 GB/s."""
    t = float(ep_all_to_all_s(18432, 72, 58, 8, 7168, 50e9, 1.0, 2.0))
    assert t == pytest.approx(58 * 71 / 72 * 256 * 8 * 7168 * 3 / 50e9, rel=1e-12)
    assert float(ep_all_to_all_s(100, 1, 58, 8, 7168, 50e9)) == 0.0  # one rank: nothing to send


def test_two_batch_overlap_by_hand():
    """Two micro-batches: 2 max(half the work with the weights read whole, half the communication)."""
    kw = dict(
        batch=1000, input_tokens=1000, output_tokens=100, params_active=3.7e10, weight_bytes_touched=4e10,
        kv_bytes_per_token=70272, layers=61, heads=128, head_dim=128, hidden=7168, tp=1, peak_flop_per_s=1.979e15,
        hbm_bytes_per_s=3.35e12, compute_eff=0.7, bw_eff=0.9, scaleup_bytes_per_s=900e9, prefill_in_step=False,
        ep=8,
    )  # fmt: skip
    plain = step_time_s(**kw, ep_comm_s=0.05)
    tbo = step_time_s(**kw, ep_comm_s=0.05, two_batch_overlap=True)
    ranks = 8 * 1
    gemm_c = 1000 * 2 * 3.7e10 / (ranks * 1.979e15 * 0.7)
    gemm_m = 4e10 / (ranks * 3.35e12 * 0.9)
    attn_c = 1000 * 4 * 61 * 128 * 128 * 1050 / (ranks * 1.979e15 * 0.7)
    attn_m = 1000 * 1050 * 70272 / (ranks * 3.35e12 * 0.9)
    work = max(gemm_c, gemm_m) + max(attn_c, attn_m)
    half = max(gemm_c / 2, gemm_m) + max(attn_c, attn_m) / 2
    assert float(plain["step_s"]) == pytest.approx(work + 0.05, rel=1e-12)
    assert float(tbo["step_s"]) == pytest.approx(2 * max(half, 0.025), rel=1e-12)


def test_each_accelerator_holds_its_experts_and_a_whole_copy_of_the_rest():
    """DeepSeek-V3 in FP8: the routed experts (58 layers x 256 x 3 x 7,168 x 2,048 bytes) split over 72, the rest
    (671e9 bytes less the experts) whole in each group, split over its TP ranks."""
    experts = 58 * 256 * 3 * 7168 * 2048.0
    rest = 671e9 - experts
    for tp, ep in ((1, 72), (8, 9)):
        r = replica(DSV3, H100, tp, "fp8", 2000, 100, ep=ep)
        assert float(r.weights_gb_per_accelerator) == pytest.approx((rest / tp + experts / 72) / 1e9, rel=1e-12)
    # no room for a sequence on 8 H100 with TP only; EP over 16 serves it
    assert infer("deepseek-v3", "H100", 16, tp=8, precision="fp8").tokens_per_s == 0.0
    wide = infer("deepseek-v3", "H100", 16, tp=8, ep=2, precision="fp8")
    assert wide.meets_slo and wide.replicas == 1 and wide.ep == 2


def test_expert_parallelism_leaves_a_dense_model_alone_and_is_refused_for_one():
    base = infer("llama-2-70b", "H100", 8, tp=8)
    assert base.ep == 1
    r = CliRunner().invoke(app, ["infer", "-m", "llama-2-70b", "-a", "H100", "-n", "16", "--ep", "2"])
    assert r.exit_code == 2 and "dense model" in r.stderr
    r = CliRunner().invoke(app, ["infer", "-m", "deepseek-v3", "-a", "H100", "-n", "16", "--tp", "8", "--ep", "4"])
    assert r.exit_code == 2 and "TP x EP" in r.stderr
    r = CliRunner().invoke(app, ["infer", "-m", "deepseek-v3", "-a", "H100", "-n", "72", "--ep", "9", "--json"])
    assert r.exit_code == 0, r.output
    assert '"ep": 9' in r.stdout
    assert np.isfinite(infer("deepseek-v3", "H100", 72, ep=9, precision="fp8").tokens_per_s_per_accelerator)


def test_decode_attention_spans_the_latent_and_runs_in_the_caches_format():
    """MLA (DeepSeek-V3, config_671B.json): decoding, each query head scores over the 512-wide latent and the 64-wide
    RoPE key and reads the latent as values (mean width (576 + 512) / 2); prefilling, unabsorbed, queries and keys of
    128 + 64 and values of 128 (mean 160). Attention runs at the FP8 peak only with an FP8 cache; a dense GQA model
    keeps its head width."""
    from fab2token.workloads.serving_inputs import attention_of

    bf16, fp8 = float(H100["dense_bf16_flop_per_s"]), float(H100["dense_fp8_flop_per_s"])
    assert attention_of(DSV3, H100, "bf16") == (544.0, 160.0, bf16)
    assert attention_of(DSV3, H100, "fp8") == (544.0, 160.0, fp8)
    assert attention_of(model_spec("llama-2-70b"), H100, "int8") == (None, None, bf16)
    no_latent = {**DSV3, "kv_latent_dim": float("nan")}
    assert attention_of(no_latent, H100, "bf16").decode_dim == 576.0  # the whole latent for both products
    kw = dict(
        batch=64, input_tokens=4096, output_tokens=2, params_active=3.7e10, weight_bytes_touched=1.0,
        kv_bytes_per_token=1.0, layers=61, heads=128, head_dim=128, hidden=7168, tp=1, peak_flop_per_s=1.979e15,
        hbm_bytes_per_s=1e18, compute_eff=1.0, bw_eff=1.0, scaleup_bytes_per_s=900e9, prefill_in_step=False,
    )  # fmt: skip
    wide = step_time_s(**kw, decode_attention_dim=576, attention_flop_per_s=989.4e12)
    gemm = 64 * 2 * 3.7e10 / 1.979e15
    attention = 64 * 4 * 61 * 128 * 576 * 4097 / 989.4e12
    assert float(wide["step_s"]) == pytest.approx(gemm + attention, rel=1e-9)
