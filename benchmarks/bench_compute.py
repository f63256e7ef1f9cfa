"""Compute model speed: 100,000 training and inference configurations per vectorised call, and a side-by-side
with llm-analysis (PyPI) on a handful of configurations (run only where llm-analysis is installed:
``pip install llm-analysis``)."""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import best_time, paired
from fab2token import catalog
from fab2token.workloads.architecture import flops_per_token_training, model_spec
from fab2token.workloads.inference import infer, serve, step_time_s
from fab2token.workloads.training import estimate_mfu, goodput_frac, memory_per_accelerator_gb, young_daly_interval_s

N = 100_000


def _training(rng: np.random.Generator) -> dict:
    params = rng.uniform(1e9, 1e12, N)
    layers = rng.integers(24, 160, N).astype(float)
    hidden = np.round(np.sqrt(params / (12 * layers)) / 128) * 128
    heads = hidden / 128
    seq = rng.choice([2048.0, 4096.0, 8192.0], N)
    count = rng.choice([1024.0, 4096.0, 16384.0, 65536.0], N)
    tp = rng.choice([1.0, 2.0, 4.0, 8.0], N)
    pp = rng.choice([1.0, 4.0, 8.0, 16.0], N)
    fpt = flops_per_token_training(params, layers, heads, 128.0, seq)
    mem = memory_per_accelerator_gb(params, layers, hidden, heads, seq, 1, tp, pp, count / (tp * pp), 1)
    est = estimate_mfu(fpt, params, hidden, layers, seq, 16e6, count, tp, pp, 989e12, 0.8, 900.0, 50.0)
    mtbf = 3600.0 / (1.97e-5 * count)
    tau = young_daly_interval_s(60.0, mtbf)
    good = goodput_frac(tau, 60.0, 600.0, mtbf)
    days = fpt * 15e12 / (count * 989e12 * est["mfu"]) / good / 86400
    return {"days": days, "mem": mem["total_gb"]}


def main() -> None:
    rng = np.random.default_rng(0)
    t = best_time(lambda: _training(rng), repeat=3)
    print(
        f"training: {N:,} configurations (FLOPs, memory, MFU estimate, Young/Daly, goodput, days) in "
        f"{t * 1e3:.0f} ms = {N / t:,.0f} configs/s"
    )

    m = model_spec("llama-2-70b")
    acc = catalog.lookup("accelerators", "H100")
    tp = rng.choice([2.0, 4.0, 8.0], N)
    inp = rng.integers(128, 4096, N).astype(float)
    out = rng.integers(64, 1024, N).astype(float)
    tpot = rng.uniform(0.02, 0.2, N)
    t_vec = best_time(lambda: serve(m, acc, tp, "fp8", inp, out, tpot, 2.0), repeat=3)
    print(
        f"inference: {N:,} configurations (best batch under SLOs by 20-step bisection) in {t_vec * 1e3:.0f} ms = "
        f"{N / t_vec:,.0f} configs/s"
    )
    sub = 300
    t0 = time.perf_counter()
    for k in range(sub):
        infer(
            "llama-2-70b",
            "H100",
            8,
            tp=int(tp[k]),
            precision="fp8",
            input_tokens=int(inp[k]),
            output_tokens=int(out[k]),
            tpot_ms=float(tpot[k]) * 1e3,
        )
    t_loop = (time.perf_counter() - t0) / sub * N
    print(
        f"  one infer() call per configuration: {t_loop:.1f} s for {N:,} (timed on {sub}); vectorised is "
        f"{t_loop / t_vec:,.0f}x faster"
    )
    _peers()


def _peers() -> None:
    try:
        from llm_analysis.analysis import infer as la_infer
    except ImportError:
        print("llm-analysis not installed: peer comparison skipped (pip install llm-analysis)")
        return
    import logging

    logging.disable(logging.WARNING)
    print("side by side with llm-analysis 0.2.2 (16-bit weights and KV, flops efficiency 0.801, HBM efficiency 0.92):")
    print(f"  {'config':34s} {'weights GB/GPU':>16s} {'KV GB/GPU':>12s} {'decode step ms':>16s} {'speed':>10s}")
    cases = [
        (
            "Llama-2-70B, 8xH100 TP8, B=16",
            "llama-2-70b",
            "upstage_Llama-2-70b-instruct-v2",
            "H100",
            "h100-sxm-80gb",
            8,
            16,
        ),
        (
            "Llama-2-70B, 8xH100 TP8, B=128",
            "llama-2-70b",
            "upstage_Llama-2-70b-instruct-v2",
            "H100",
            "h100-sxm-80gb",
            8,
            128,
        ),
        ("LLaMA-65B, 8xA100 TP8, B=32", "llama-65b", "decapoda-research_llama-65b-hf", "A100", "a100-sxm-80gb", 8, 32),
    ]
    for label, ours_model, la_model, ours_acc, la_gpu, tp, b in cases:
        m = model_spec(ours_model)
        acc = catalog.lookup("accelerators", ours_acc)
        i, o = 1024, 256

        def ours(m=m, acc=acc, tp=tp, b=b, i=i, o=o):
            return step_time_s(
                b,
                i,
                o,
                m["params_active"],
                m["params_total"] * 2,
                2 * m["layers"] * m["kv_heads"] * m["head_dim"] * 2,
                m["layers"],
                m["heads"],
                m["head_dim"],
                m["hidden"],
                tp,
                acc["dense_bf16_flop_per_s"],
                acc["hbm_tb_per_s"] * 1e12,
                0.801,
                0.92,
                acc["scaleup_gb_per_s"] * 1e9,
                prefill_in_step=False,
            )

        def theirs(la_model=la_model, la_gpu=la_gpu, tp=tp, b=b, i=i, o=o):
            return la_infer(
                model_name=la_model,
                gpu_name=la_gpu,
                dtype_name="w16a16e16",
                tp_size=tp,
                batch_size_per_gpu=b,
                seq_len=i,
                num_tokens_to_generate=o,
                log_level="ERROR",
                flops_efficiency=0.801,
                hbm_memory_efficiency=0.92,
            )

        speed = paired(ours, theirs, rounds=5, number=3)  # alternating in-process rounds
        r_ours, r_theirs = ours(), theirs()
        kv_ours = b * (i + o) * 2 * m["layers"] * m["kv_heads"] * m["head_dim"] * 2 / tp / 1e9
        print(
            f"  {label:34s} {m['params_total'] * 2 / tp / 1e9:7.1f} | {r_theirs['weight_memory_per_gpu'] / 1e9:6.1f}"
            f" {kv_ours:5.1f} | {r_theirs['kv_cache_memory_per_gpu'] / 1e9:5.1f}"
            f" {float(r_ours['step_s']) * 1e3:7.2f} | {r_theirs['decode_latency'] * 1e3:6.2f}"
            f" {sorted(speed.ratios)[len(speed.ratios) // 2]:8.1f}x ({min(speed.ratios):.1f}-{max(speed.ratios):.1f})"
        )
    print(
        "  (ours | llm-analysis; speed = llm-analysis time per call / ours: median and range of 5 alternating rounds)"
    )
