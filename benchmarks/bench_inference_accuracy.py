"""Serving model vs published throughput: the engine-efficiency fit and its out-of-sample checks (not a test).

Fit: the bare roofline (engine efficiency 1) against NVIDIA's TensorRT-LLM overview below; the catalog's
``serving_engine_efficiency_frac`` is the inverse geometric mean of roofline / published, and this prints the refit
next to it, the calibrated spread, a leave-one-model-out check, and MLPerf Inference llama2-70b (v4.0 and v5.1,
never used in the fit; v5.1 is asserted in tests/reference/test_inference_reference.py).

Reference: NVIDIA TensorRT-LLM performance overview, docs/source/performance/perf-overview.md (commit 00f3768,
https://github.com/NVIDIA/TensorRT-LLM/blob/main/docs/source/performance/perf-overview.md): total output tokens/s of
trtllm-bench at infinite request rate, FP8 weights, fixed input/output lengths, on DGX H100 / DGX H200. Llama 3.3 70B
has Llama-3-70B's architecture. Printed: ours / published per configuration and the spread.
"""

from __future__ import annotations

import numpy as np

from fab2token.workloads.inference import infer

# (model, accelerator, tp, [(isl, osl, published tokens/s)])
PUBLISHED = [
    (
        "llama-3-70b",
        "H200",
        1,
        [
            (128, 2048, 4336),
            (1000, 1000, 2909),
            (500, 2000, 3666),
            (2048, 2048, 2003),
            (128, 128, 3803),
            (2048, 128, 442),
        ],
    ),
    (
        "llama-3-70b",
        "H100",
        2,
        [
            (128, 2048, 6651),
            (1000, 1000, 4205),
            (500, 2000, 5222),
            (2048, 2048, 3082),
            (128, 128, 6378),
            (2048, 128, 762),
        ],
    ),
    (
        "llama-3-8b",
        "H100",
        1,
        [
            (128, 2048, 22714),
            (1000, 1000, 15220),
            (500, 2000, 17660),
            (2048, 2048, 9305),
            (128, 128, 28312),
            (2048, 128, 3450),
        ],
    ),
    (
        "llama-3-8b",
        "H200",
        1,
        [
            (128, 2048, 26221),
            (1000, 1000, 17744),
            (500, 2000, 20770),
            (2048, 2048, 12194),
            (128, 128, 27911),
            (2048, 128, 3538),
        ],
    ),
    ("llama-3.1-405b", "H200", 8, [(128, 2048, 5348), (1000, 1000, 3330), (2048, 2048, 2948), (2048, 128, 456)]),
    ("llama-3.1-405b", "H100", 8, [(128, 2048, 4340), (1000, 1000, 2919), (2048, 2048, 2296), (2048, 128, 453)]),
]


# MLPerf Inference llama2-70b-99 per-GPU output tokens/s (Closed; see tests/reference/test_inference_reference.py for
# v5.1 sources). v4.0: mlcommons/inference_results_v4.0 closed/NVIDIA/results/{DGX-H100_H100-SXM-80GBx8,
# H200-SXM-141GBx8}_TRT/llama2-70b-99.9/Offline/performance/run_1/mlperf_log_summary.txt (21,805.8 and 27,738.3 / 8).
MLPERF = [
    ("v4.0 Offline", "H100", 21805.8 / 8, 1e9, 1e9),
    ("v4.0 Offline", "H200", 27738.3 / 8, 1e9, 1e9),
    ("v5.1 Offline", "H100", 62351.6 / 16, 1e9, 1e9),
    ("v5.1 Offline", "H200", 34831.7 / 8, 1e9, 1e9),
    ("v5.1 Server", "H100", 61101.32 / 16, 200.0, 2000.0),
    ("v5.1 Server", "H200", 33203.8 / 8, 200.0, 2000.0),
    ("v5.1 Interactive", "H200", 20768.75 / 8, 40.0, 450.0),  # 19,621.9 (5.1-0014) and 21,915.6 (5.1-0026)
]


def _ratios(engine: float | None) -> list[tuple[str, str, int, int, int, float]]:
    out = []
    for model, acc, tp, rows in PUBLISHED:
        for isl, osl, pub in rows:
            r = infer(
                model,
                acc,
                tp,
                tp=tp,
                precision="fp8",
                input_tokens=isl,
                output_tokens=osl,
                tpot_ms=1e7,
                ttft_ms=1e9,
                engine_efficiency=engine,
            )
            out.append((model, acc, isl, osl, pub, r.tokens_per_s / pub))
    return out


def main() -> None:
    from tests.reference.test_inference_reference import OUTPUT_TOKENS, mean_input_tokens, mlperf_infer

    from fab2token import catalog

    raw = _ratios(1.0)
    r = np.array([x[-1] for x in raw])
    fit = float(np.exp(-np.log(r).mean()))
    have = catalog.overhead("serving_engine_efficiency_frac")
    print(
        f"bare roofline / published over {r.size} TensorRT-LLM configurations: min {r.min():.2f}, median "
        f"{np.median(r):.2f}, max {r.max():.2f}; fitted engine efficiency {fit:.3f} (catalog {have:.3f})"
    )
    cal = _ratios(None)
    for model, acc, isl, osl, pub, ratio in cal:
        print(f"  {model:15s} {acc:5s} {isl:5d}/{osl:<5d} published {pub:7,d}  calibrated ratio {ratio:4.2f}")
    c = np.array([x[-1] for x in cal])
    print(
        f"calibrated: min {c.min():.2f}, median {np.median(c):.2f}, max {c.max():.2f}; "
        f"{np.mean(np.abs(c - 1) <= 0.25):.0%} within +-25 %"
    )
    models = sorted({x[0] for x in raw})
    for held in models:  # refit without one model, score it
        train = np.array([x[-1] for x in raw if x[0] != held])
        test = np.array([x[-1] for x in raw if x[0] == held]) * np.exp(-np.log(train).mean())
        print(
            f"  leave out {held:15s}: fit {np.exp(-np.log(train).mean()):.3f}, held-out ratios "
            f"{test.min():.2f}-{test.max():.2f}, {np.mean(np.abs(test - 1) <= 0.25):.0%} within +-25 %"
        )
    isl, se = mean_input_tokens()
    print(f"MLPerf llama2-70b (out of sample; mean prompt {isl:.0f} +- {se:.0f} tokens, output {OUTPUT_TOKENS}):")
    for label, acc, pub, tpot, ttft in MLPERF:
        res = mlperf_infer(acc, isl, tpot, ttft)
        print(
            f"  {label:16s} {acc}: ours {res.tokens_per_s_per_accelerator:6,.0f} /GPU (TP{res.tp}, batch "
            f"{res.batch:,.0f})  published {pub:6,.0f}  ratio {res.tokens_per_s_per_accelerator / pub:4.2f}"
        )
