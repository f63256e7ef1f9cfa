"""Inference model: roofline step time, KV cache, SLO-constrained batch, the infer command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fab2token.cli.main import app
from fab2token.workloads.architecture import kv_cache_bytes_per_token
from fab2token.workloads.inference import INFER_KEYS, best_batch, infer, step_time_s


def test_kv_cache_bytes_gqa_and_mla():
    # Llama-2-70B: 2 x 80 layers x 8 KV heads x 128 x 2 bytes
    assert float(kv_cache_bytes_per_token(80, 8, 128, 2)) == 327_680
    # DeepSeek-V3 MLA: 61 layers x 576-wide latent x 1 byte
    assert float(kv_cache_bytes_per_token(61, 128, 128, 1, 576)) == 61 * 576


def test_step_time_is_memory_bound_at_batch_one_and_compute_bound_at_large_batch():
    kw = dict(
        input_tokens=1024,
        output_tokens=256,
        params_active=7e10,
        weight_bytes_touched=1.4e11,
        kv_bytes_per_token=327680,
        layers=80,
        heads=64,
        head_dim=128,
        hidden=8192,
        tp=8,
        peak_flop_per_s=989e12,
        hbm_bytes_per_s=3.35e12,
        compute_eff=0.8,
        bw_eff=0.9,
        scaleup_bytes_per_s=900e9,
    )
    small = step_time_s(batch=1, **kw)
    large = step_time_s(batch=512, **kw)
    assert float(small["memory_s"]) > float(small["compute_s"])
    assert float(large["compute_s"]) > float(large["memory_s"])
    b = np.arange(1, 600)
    assert np.all(np.diff(step_time_s(batch=b, **kw)["step_s"]) >= 0)


def test_best_batch_bisection_matches_brute_force():
    def tpot(b):
        return 0.01 + 0.0002 * b

    max_b = np.array([1000.0, 50.0, 1000.0])
    slo = np.array([0.05, 0.05, 0.005])
    b, _, _ = best_batch(tpot, max_b, slo, np.array([10.0, 10.0, 10.0]), np.array([1.0, 1.0, 1.0]))
    assert list(b) == [200.0, 50.0, 0.0]


def test_infer_respects_slos_and_memory():
    r = infer("llama-2-70b", "H100", 8, tp=8, tpot_ms=50, ttft_ms=2000)
    assert set(INFER_KEYS) <= set(r.to_dict())
    assert r.meets_slo and r.tpot_ms <= 50 + 1e-9 and r.ttft_ms <= 2000
    assert r.batch <= r.max_batch_memory
    assert r.kv_cache_gb <= 8 * 80 * 0.9 - 2 * 68.98
    assert r.tokens_per_s == pytest.approx(r.batch / (r.tpot_ms / 1e3))


def test_tighter_slo_lowers_throughput():
    loose = infer("llama-2-70b", "H100", 8, tp=8, tpot_ms=100)
    mid = infer("llama-2-70b", "H100", 8, tp=8, tpot_ms=20)
    tight = infer("llama-2-70b", "H100", 8, tp=8, tpot_ms=6)
    # once compute-bound, TPOT grows with the batch and tokens/s = B / TPOT stays flat: a roofline plateau
    assert mid.tokens_per_s == pytest.approx(loose.tokens_per_s) and mid.batch < loose.batch
    # a TPOT near the weight-read time forces small, memory-bound batches
    assert tight.tokens_per_s < 0.9 * mid.tokens_per_s and tight.bound == "memory-bandwidth"


def test_model_that_does_not_fit_says_why():
    r = infer("llama-3.1-405b", "H100", 8, tp=1)
    assert not r.meets_slo and "no room" in r.reason and r.tokens_per_s == 0


def test_cost_per_million_tokens():
    r = infer("llama-3-8b", "H100", 8, usd_per_accelerator_hour=2.0)
    assert r.usd_per_million_tokens == pytest.approx(8 * 2.0 / (r.tokens_per_s * 3600) * 1e6)


def test_infer_cli_json():
    res = CliRunner().invoke(
        app,
        [
            "infer",
            "--model",
            "llama-2-70b",
            "--accelerator",
            "H100",
            "--count",
            "8",
            "--tp",
            "8",
            "--tpot-ms",
            "50",
            "--ttft-ms",
            "2000",
            "--input-tokens",
            "1024",
            "--output-tokens",
            "256",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    for key in (
        "tokens_per_s",
        "tokens_per_s_per_accelerator",
        "batch",
        "ttft_ms",
        "tpot_ms",
        "kv_cache_gb",
        "usd_per_million_tokens",
    ):
        assert key in d


def test_infer_tp_larger_than_count_exits_2():
    res = CliRunner().invoke(
        app, ["infer", "--model", "llama-2-70b", "--accelerator", "H100", "--count", "4", "--tp", "8"]
    )
    assert res.exit_code == 2 and "tp (--tp): got 8; at most the 4 accelerators given" in res.stderr


def test_engine_efficiency_scales_step_time_and_memory_bound_throughput():
    kw = dict(precision="fp8", input_tokens=512, output_tokens=256, tpot_ms=1e9, ttft_ms=1e9)
    bare = infer("llama-3-8b", "H100", 1, tp=1, engine_efficiency=1.0, **kw)
    half = infer("llama-3-8b", "H100", 1, tp=1, engine_efficiency=0.5, **kw)
    # no latency SLO: the batch is the memory limit either way, so tokens/s halves exactly and TPOT doubles
    assert half.batch == bare.batch
    assert half.tokens_per_s == pytest.approx(bare.tokens_per_s / 2)
    assert half.tpot_ms == pytest.approx(bare.tpot_ms * 2)
    default = infer("llama-3-8b", "H100", 1, tp=1, **kw)
    assert default.tokens_per_s < bare.tokens_per_s
    # under a TPOT SLO a slower engine also fits a smaller batch
    slo = dict(kw, tpot_ms=15.0)
    assert (
        infer("llama-3-8b", "H100", 1, tp=1, engine_efficiency=0.5, **slo).batch
        < infer("llama-3-8b", "H100", 1, tp=1, engine_efficiency=1.0, **slo).batch
    )


@pytest.mark.parametrize("bad", ["0", "1.5", "-0.2"])
def test_infer_engine_efficiency_out_of_range_exits_2(bad):
    res = CliRunner().invoke(
        app,
        ["infer", "--model", "llama-3-8b", "--accelerator", "H100", "--count", "1", "--engine-efficiency", bad],
    )
    assert res.exit_code == 2 and "engine_efficiency (--engine-efficiency)" in res.stderr


def test_fixed_batch_serves_that_batch_and_only_checks_the_slo():
    free = infer("llama-3-8b", "H100", count=1, tp=1, input_tokens=128, output_tokens=256)
    fixed = infer("llama-3-8b", "H100", count=1, tp=1, input_tokens=128, output_tokens=256, batch=16)
    assert fixed.batch == 16 and fixed.batch < free.batch
    assert fixed.tokens_per_s == pytest.approx(16 / (fixed.tpot_ms / 1e3))
    assert fixed.tokens_per_s < free.tokens_per_s  # the free search's batch is larger and within the SLO
    assert fixed.meets_slo and "fixed at 16" in fixed.reason
    # a batch above what fits is capped by the KV cache; one whose TPOT breaks the SLO is reported, not refused
    big = infer("llama-3-8b", "H100", count=1, tp=1, input_tokens=128, output_tokens=256, batch=10**6, tpot_ms=5)
    assert big.batch == big.max_batch_memory and not big.meets_slo
    assert "capped" in big.reason and "outside the SLO" in big.reason


def test_fixed_batch_bad_values_exit_2():
    for extra in (["--batch", "0"], ["--batch", "8", "--disaggregate"]):
        res = CliRunner().invoke(app, ["infer", "-m", "llama-3-8b", "-a", "H100", "-n", "2", *extra])
        assert res.exit_code == 2, res.output
        assert "batch" in res.output
