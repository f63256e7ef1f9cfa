"""Disaggregated serving: a prefill-only step by hand, each pool within its SLO, and the fleet split so both pools
keep pace: output tokens/s per accelerator ``O / (I / p + O / d)``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fab2token import catalog
from fab2token.cli.main import app
from fab2token.errors import ModelError
from fab2token.workloads.architecture import model_spec
from fab2token.workloads.disaggregate import disaggregated, kv_transfer_s, prefill_step_s
from fab2token.workloads.inference import infer, replica
from fab2token.workloads.serving_step import ep_all_to_all_s, prefill_time_s


def test_a_prefill_step_by_hand():
    """4 prompts of 1,000 tokens, a 7e10 model on one accelerator: GEMMs 4,000 x 2 x 7e10 FLOPs, causal attention
    4,000 x 2 x 80 x 64 x 128 x 1,000, both compute-bound here, at 1e15 x 0.8; no communication."""
    kw = dict(
        prompts=4, input_tokens=1000, params_active=7e10, weight_bytes_touched=1.4e11, kv_bytes_per_token=327680,
        layers=80, heads=64, head_dim=128, hidden=8192, tp=1, peak_flop_per_s=1e15, hbm_bytes_per_s=3e12,
        compute_eff=0.8, bw_eff=0.9, scaleup_bytes_per_s=900e9,
    )  # fmt: skip
    gemm = max(4000 * 2 * 7e10 / 0.8e15, 1.4e11 / 2.7e12)
    attn = max(4000 * 2 * 80 * 64 * 128 * 1000 / 0.8e15, 4000 * 327680 / 2.7e12)
    assert float(prefill_time_s(**kw)) == pytest.approx(gemm + attn, rel=1e-12)


@pytest.mark.parametrize(("model", "n", "tp", "ep"), [("llama-3-70b", 8, 8, 1), ("deepseek-v3", 72, 1, 72)])
def test_the_pools_meet_their_slos_and_split_the_fleet(model, n, tp, ep):
    r = infer(model, "H100", n, tp=tp, ep=ep, precision="fp8", input_tokens=2000, output_tokens=200, disaggregate=True)
    d = r.disaggregated
    assert r.meets_slo and r.tpot_ms <= 50.0 + 1e-9 and r.ttft_ms <= 2000.0 + 1e-9
    p, q = d["prefill_tokens_per_s_per_accelerator"], d["decode_tokens_per_s_per_accelerator"]
    assert r.tokens_per_s_per_accelerator == pytest.approx(200 / (2000 / p + 200 / q), rel=1e-9)
    assert d["prefill_share"] == pytest.approx((2000 / p) / (2000 / p + 200 / q), rel=1e-9)
    assert infer(model, "H100", n, tp=tp, ep=ep, precision="fp8").disaggregated is None


def test_disaggregate_on_the_command_line():
    args = ["infer", "-m", "llama-3-70b", "-a", "H100", "-n", "8", "--tp", "8", "--disaggregate", "--json"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)["disaggregated"]
    assert 0.0 < d["prefill_share"] < 1.0 and d["prefill_prompts_per_step"] >= 1


def test_prefill_attention_of_mla_runs_unabsorbed():
    """MLA's prefill attention at its own width: queries and keys of 192, values of 128 (mean 160), not head_dim."""
    kw = dict(
        prompts=1, input_tokens=4096, params_active=0.0, weight_bytes_touched=0.0, kv_bytes_per_token=0.0,
        layers=61, heads=128, head_dim=128, hidden=7168, tp=1, peak_flop_per_s=1e15, hbm_bytes_per_s=3e12,
        compute_eff=1.0, bw_eff=1.0, scaleup_bytes_per_s=900e9,
    )  # fmt: skip
    mla = float(prefill_time_s(**kw, prefill_attention_dim=160.0))
    assert mla == pytest.approx(4096 * 2 * 61 * 128 * 160 * 4096 / 1e15, rel=1e-12)
    assert mla / float(prefill_time_s(**kw)) == pytest.approx(160 / 128, rel=1e-12)


def test_node_all_to_all_by_hand():
    """32 ranks on 4 nodes of 8: each token reaches 4 (1 - (3/4)^8) nodes; 1,000 tokens a rank, hidden 7,168, FP8
    dispatch and BF16 combine, 58 MoE layers, at 44.5 GB/s; within one node nothing crosses the NIC."""
    reached = 4 * (1 - 0.75**8)
    expected = 58 * 1000 * reached * 7168 * 3 / 44.5e9
    got = ep_all_to_all_s(32000, 32, 58, 8, 7168, 44.5e9, 1.0, 2.0, node_size=8)
    assert float(got) == pytest.approx(expected, rel=1e-12)
    assert float(ep_all_to_all_s(8000, 8, 58, 8, 7168, 44.5e9, 1.0, 2.0, node_size=8)) == 0.0
    # fewer copies than the low-latency kernels' one per expert
    assert float(got) < float(ep_all_to_all_s(32000, 32, 58, 8, 7168, 44.5e9, 1.0, 2.0))


def test_the_kv_cache_moves_between_the_pools():
    """A prefill step's KV cache leaves over each accelerator's NIC; TTFT counts the transfer, the prefill pool's
    cycle the longer of its step and its NIC's work."""
    m, acc = model_spec("llama-3-70b"), catalog.lookup("accelerators", "H100")
    r = replica(m, acc, 8, "fp8", 2000, 200)
    kv = float(kv_transfer_s(r, 10))
    assert kv == pytest.approx(10 * 2000 * r.kv_tok / 8 / 50e9, rel=1e-12)
    d = disaggregated(r, 0.05, 2.0)
    prompts = float(d["prefill_prompts_per_step"])
    assert float(d["ttft_s"]) == pytest.approx(float(prefill_step_s(r, prompts) + kv_transfer_s(r, prompts)))
    assert float(d["kv_transfer_s"]) == pytest.approx(float(kv_transfer_s(r, prompts)))
    # a slower NIC: the transfer grows with it, and the pool never gets faster
    slow = replica(m, {**acc, "scaleout_gb_per_s": 0.05}, 8, "fp8", 2000, 200)
    d_slow = disaggregated(slow, 0.05, 1e9)
    assert float(d_slow["kv_transfer_s"]) > 100 * float(d["kv_transfer_s"]) * 0.99
    assert float(d_slow["prefill_tokens_per_s_per_accelerator"]) < float(d["prefill_tokens_per_s_per_accelerator"])


def test_disaggregation_needs_the_nic_rate():
    acc = {**catalog.lookup("accelerators", "H100"), "scaleout_gb_per_s": float("nan")}
    with pytest.raises(ModelError, match=r"catalog\.accelerators\.H100-SXM\.scaleout_gb_per_s"):
        disaggregated(replica(model_spec("llama-3-70b"), acc, 8, "fp8", 2000, 200), 0.05, 2.0)
