"""Disaggregated serving: a prefill-only step by hand, each pool within its SLO, and the fleet split so both pools
keep pace: output tokens/s per accelerator ``O / (I / p + O / d)``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fab2token.cli.main import app
from fab2token.workloads.inference import infer
from fab2token.workloads.serving_step import prefill_time_s


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
