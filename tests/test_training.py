"""Training model: FLOPs, memory, reliability, and the train command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from fab2token.cli.main import app
from fab2token.errors import ModelError, OptionError
from fab2token.workloads.architecture import chinchilla_optimal, flops_per_token_training, model_spec, param_counts
from fab2token.workloads.training import (
    TRAIN_KEYS,
    goodput_frac,
    memory_per_accelerator_gb,
    min_data_parallel_to_fit,
    pipeline_bubble_frac,
    recompute_flops_per_token,
    train,
    young_daly_interval_s,
)


def test_flops_per_token_is_six_n_plus_attention():
    n, L, H, Dh, T = 1e9, 10, 8, 64, 1000
    full = float(flops_per_token_training(n, L, H, Dh, T, causal=False))
    assert full == pytest.approx(6 * n + 12 * L * H * Dh * T)
    assert float(flops_per_token_training(n, L, H, Dh, T)) == pytest.approx(6 * n + 6 * L * H * Dh * T)


def test_moe_active_params_are_a_fraction_of_total():
    m = model_spec("mixtral")
    assert m["params_active"] / m["params_total"] == pytest.approx(12.9 / 46.7, rel=0.01)


def test_param_counts_vectorised():
    total, active = param_counts(
        [32, 80], [4096, 8192], [32, 64], [8, 8], [128, 128], [14336, 28672], vocab=[128256, 32000]
    )
    assert total.shape == (2,) and np.all(total == active)


def test_chinchilla_helper_scales_with_sqrt_compute():
    n1, d1 = chinchilla_optimal(1e24)
    n4, d4 = chinchilla_optimal(4e24)
    assert float(n4 / n1) == pytest.approx(2.0) and float(d4 / d1) == pytest.approx(2.0)
    assert float(6 * n1 * d1) == pytest.approx(1e24)


def test_memory_sharding_by_zero_stage():
    kw = dict(params_total=7e10, layers=80, hidden=8192, heads=64, seq_len=4096, tp=8, pp=1, dp=64)
    z0, z1, z3 = (memory_per_accelerator_gb(**kw, zero_stage=z) for z in (0, 1, 3))
    assert float(z0["optimizer_gb"]) == pytest.approx(7e10 / 8 * 12 / 1e9)
    assert float(z1["optimizer_gb"]) == pytest.approx(float(z0["optimizer_gb"]) / 64)
    assert float(z3["weights_gb"]) == pytest.approx(float(z0["weights_gb"]) / 64)
    full = memory_per_accelerator_gb(**kw, recompute="full")
    assert float(full["activations_gb"]) < float(z1["activations_gb"])


def test_min_data_parallel_fits_exactly():
    kw = dict(params_total=4e11, layers=126, hidden=16384, heads=128, seq_len=8192, tp=8, pp=16, recompute="full")
    dp = float(min_data_parallel_to_fit(80.0, **kw))
    assert math.isfinite(dp) and dp >= 1
    at = memory_per_accelerator_gb(**kw, dp=dp, zero_stage=3)["total_gb"]
    below = memory_per_accelerator_gb(**kw, dp=max(dp - 1, 1), zero_stage=3)["total_gb"]
    assert float(at) <= 80.0 and (dp == 1 or float(below) > 80.0)
    assert math.isinf(float(min_data_parallel_to_fit(1.0, **{**kw, "recompute": "none"})))


def test_pipeline_bubble():
    assert float(pipeline_bubble_frac(1, 8)) == 0.0
    assert float(pipeline_bubble_frac(4, 13)) == pytest.approx(3 / 16)


def test_young_daly_and_goodput():
    tau = float(young_daly_interval_s(60.0, 3600.0 * 3))
    assert tau == pytest.approx(math.sqrt(2 * 60 * 10800) - 60)
    g = goodput_frac(tau, 60.0, 600.0, 10800.0)
    # the optimum: nearby intervals waste more
    assert float(g) >= float(goodput_frac(tau * 1.5, 60.0, 600.0, 10800.0))
    assert float(g) >= float(goodput_frac(tau / 1.5, 60.0, 600.0, 10800.0))
    assert 0.0 < float(g) < 1.0


def test_train_outputs_are_consistent():
    r = train("llama-3-8b", 1e12, "H100", 1024, mfu=0.4, usd_per_accelerator_hour=2.0)
    d = r.to_dict()
    assert set(TRAIN_KEYS) <= set(d)
    assert r.accelerator_hours == pytest.approx(r.count * r.days * 24)
    assert r.compute_days == pytest.approx(r.flops / (1024 * 989.4e12 * 0.4) / 86400)
    assert r.days == pytest.approx(r.compute_days / r.goodput)
    assert r.interruptions_expected == pytest.approx(1.973e-5 * r.accelerator_hours)
    assert r.cost_usd == pytest.approx(2.0 * r.accelerator_hours)
    assert r.fits_in_memory


def test_no_failures_means_full_goodput():
    r = train("llama-3-8b", 1e12, "H100", 64, mfu=0.4, failure_rate_per_accelerator_hour=0.0)
    assert r.goodput == 1.0 and r.interruptions_expected == 0.0


def test_estimated_mfu_is_below_matmul_efficiency():
    r = train("llama-3-70b", 1e12, "H100", 1024, tp=8, pp=4)
    assert r.mfu_source == "estimated" and 0.1 < r.mfu < 0.801


def test_does_not_fit_error_says_what():
    with pytest.raises(ModelError, match="optimizer"):
        train("llama-3.1-405b", 1e12, "H100", 8, tp=8, zero_stage=0, require_fit=True, mfu=0.4)


def test_unknown_precision_and_missing_peak():
    with pytest.raises(OptionError, match=r"precision \(--precision\): got 'fp4'; one of bf16, fp8"):
        train("llama-3-8b", 1e12, "H100", 8, precision="fp4", mfu=0.4)
    with pytest.raises(ModelError, match="dense_fp8_flop_per_s"):
        train("llama-3-8b", 1e12, "A100", 8, precision="fp8", mfu=0.4)


def test_train_cli_json_keys():
    res = CliRunner().invoke(
        app,
        [
            "train",
            "--model",
            "llama-3.1-405b",
            "--tokens",
            "15.6e12",
            "--accelerator",
            "H100",
            "--count",
            "16384",
            "--mfu",
            "0.4",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    for key in (
        "flops",
        "days",
        "accelerator_hours",
        "interruptions_expected",
        "goodput",
        "checkpoint_interval_minutes",
        "energy_mwh",
        "cost_usd",
    ):
        assert key in d
    assert d["cost_usd"] is None  # no price given: unknown, not zero


def test_train_cli_unknown_model_exits_2():
    res = CliRunner().invoke(
        app, ["train", "--model", "gpt-9", "--tokens", "1e12", "--accelerator", "H100", "--count", "8"]
    )
    assert res.exit_code == 2 and "models catalog" in res.stderr


def test_interleaved_schedule_shrinks_the_bubble_by_the_virtual_stages():
    p, m = 16.0, 32.0
    plain = float(pipeline_bubble_frac(p, m))
    two = float(pipeline_bubble_frac(p, m, 2))
    assert plain == pytest.approx(15 / 47) and two == pytest.approx(15 / 79)
    # idle time relative to useful time, (p - 1) / (v m), halves
    assert two / (1 - two) == pytest.approx(plain / (1 - plain) / 2)


def test_recomputation_costs_compute_in_order_none_selective_full():
    m = model_spec("llama-3-70b")
    args = (m["params_active"], m["layers"], m["heads"], m["head_dim"], 8192)
    none, sel, full = (float(recompute_flops_per_token(r, *args)) for r in ("none", "selective", "full"))
    assert none == 0.0 < sel < full
    assert full == pytest.approx(float(flops_per_token_training(*args)) / 3)  # one more forward pass
    with pytest.raises(ModelError, match="recompute"):
        recompute_flops_per_token("some", *args)
    kw = dict(model="llama-3-70b", tokens=1e12, accelerator="H100", count=1024, tp=8, pp=4)
    mfus = [train(**kw, recompute=r).mfu for r in ("none", "selective", "full")]
    assert mfus[0] > mfus[1] > mfus[2]
    assert mfus[0] / mfus[2] < 4 / 3 + 1e-9  # full recompute stretches compute by at most one forward pass
    assert train(**kw, recompute="none", virtual_stages=2).mfu > mfus[0]


def test_virtual_stages_need_a_pipeline_and_exit_2_from_the_cli():
    with pytest.raises(OptionError, match="virtual_stages"):
        train("llama-3-8b", 1e12, "H100", 8, tp=8, pp=1, virtual_stages=2)
    res = CliRunner().invoke(
        app,
        [
            "train",
            "--model",
            "llama-3-8b",
            "--tokens",
            "1e12",
            "--accelerator",
            "H100",
            "--count",
            "8",
            "--virtual-stages",
            "0",
        ],
    )
    assert res.exit_code == 2 and "virtual_stages" in res.stderr
