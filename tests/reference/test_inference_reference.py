"""Serving throughput against published MLPerf Inference results (out of sample for the engine efficiency).

Reference: MLCommons MLPerf Inference: Datacenter v5.1 (September 2025), Closed division, llama2-70b-99, results as
tabulated in openshift-psap/performance-dashboard mlperf-data/mlperf-5.1.csv (commit 21000667a6499697fcdebf53d19bcd9d059d1260;
the rows link https://github.com/mlcommons/inference_results_v5.1):
  - H200-SXM-141GB x8, one node, TensorRT: Offline tokens/s 34,548.2 (5.1-0014 Cisco), 34,588.3 (5.1-0025 Dell),
    35,075.1 (5.1-0007 ASUSTeK), 35,316.7 (5.1-0026 Dell); Server 33,163.34, 33,161.44, 34,193.81, 33,244.25.
  - H100-SXM-80GB, 2 nodes x 8 (5.1-0015 Cisco): Offline 62,351.6, Server 61,101.32 tokens/s; 4 nodes x 8 (5.1-0016):
    124,879.0 and 122,273.72.
MLPerf counts output tokens. The benchmark's rules (mlcommons/inference README: OpenOrca, max_seq_len 1024, 24,576
samples; reference tokens_per_sample 294.45; Server SLOs TTFT 2,000 ms and TPOT 200 ms at the 99th percentile).
Mean prompt length: estimated from a sample of the dataset's token lengths (``data/``, source in its header).

The engine efficiency in ``catalog/overheads.csv`` was fitted on NVIDIA's TensorRT-LLM performance overview only
(fixed lengths, Llama 3 models); MLPerf (Llama 2 70B, variable lengths, other submitters' systems) was not used to
fit anything. Tolerance +-25 %: the issue's bound; the same hardware gained 25-43 % per GPU between MLPerf v4.0 and
v5.1 from software alone (H100 21,805.8 -> 31,176 tokens/s per 8 GPUs; H200 27,738.3 -> ~34,800), so a static model
cannot be held tighter than that spread.

The model picks its own tensor-parallel degree; NVIDIA's published v4.0 configurations used TP2 on H100 and TP1 on
H200 (mlcommons/inference_results_v4.0 closed/NVIDIA/configs/llama2-70b/Offline/__init__.py) — checked below too.
"""

from __future__ import annotations

from pathlib import Path
from statistics import median

import numpy as np
import pytest

from fab2token.workloads.inference import infer

DATA = Path(__file__).parent / "data" / "mlperf_llama2_openorca_lengths_sample.csv"
OUTPUT_TOKENS = 294.45  # MLPerf's reference tokens per sample

PUBLISHED_PER_GPU = {
    ("H200", "offline"): median([34548.2, 34588.3, 35075.1, 35316.7]) / 8,
    ("H200", "server"): median([33163.34, 33161.44, 34193.81, 33244.25]) / 8,
    ("H100", "offline"): median([62351.6 / 16, 124879.0 / 32]),
    ("H100", "server"): median([61101.32 / 16, 122273.72 / 32]),
}
SLO_MS = {"offline": (1e9, 1e9), "server": (200.0, 2000.0)}  # (TPOT, TTFT)


def mean_input_tokens() -> tuple[float, float]:
    """Mean prompt length and its standard error: the four equal-size sub-dataset blocks weighted equally."""
    a = np.loadtxt(DATA, delimiter=",", comments="#", skiprows=7)
    means, ses = [], []
    for block in np.unique(a[:, 0]):
        x = a[a[:, 0] == block, 1]
        means.append(x.mean())
        ses.append(x.std(ddof=1) / np.sqrt(x.size))
    return float(np.mean(means)), float(np.sqrt(np.sum(np.square(ses))) / len(ses))


def mlperf_infer(accelerator: str, input_tokens: float, tpot_ms: float, ttft_ms: float, **kw):
    """The benchmark's setting: Llama 2 70B, FP8, one 8-GPU node, MLPerf's output length."""
    return infer(
        "llama-2-70b",
        accelerator,
        8,
        precision="fp8",
        input_tokens=round(input_tokens),
        output_tokens=round(OUTPUT_TOKENS),
        tpot_ms=tpot_ms,
        ttft_ms=ttft_ms,
        **kw,
    )


def test_sample_gives_a_mean_prompt_length_with_a_small_error():
    m, se = mean_input_tokens()
    assert 150 < m < 300
    assert se < 0.05 * m


@pytest.mark.parametrize(("accelerator", "scenario"), sorted(PUBLISHED_PER_GPU))
def test_llama2_70b_fp8_throughput_within_25_percent_of_mlperf_v51(accelerator, scenario):
    m, se = mean_input_tokens()
    tpot, ttft = SLO_MS[scenario]
    published = PUBLISHED_PER_GPU[(accelerator, scenario)]
    for isl in (m - 3 * se, m, m + 3 * se):  # robust to the prompt-length estimate
        r = mlperf_infer(accelerator, isl, tpot, ttft)
        assert r.meets_slo
        assert r.tokens_per_s_per_accelerator == pytest.approx(published, rel=0.25), (isl, r)


def test_the_chosen_tensor_parallel_degree_matches_nvidias_configuration():
    m, _ = mean_input_tokens()
    assert mlperf_infer("H100", m, 1e9, 1e9).tp == 2
    assert mlperf_infer("H200", m, 1e9, 1e9).tp == 1


def test_bare_roofline_is_outside_the_band_so_the_engine_efficiency_matters():
    m, _ = mean_input_tokens()
    r = mlperf_infer("H200", m, 1e9, 1e9, engine_efficiency=1.0)
    assert r.tokens_per_s_per_accelerator > 1.25 * PUBLISHED_PER_GPU[("H200", "offline")]


def test_catalog_engine_efficiency_is_the_fit_to_the_tensorrt_llm_overview():
    """The catalog value must be refitted when the roofline changes (the fit itself lives in the benchmark)."""
    from benchmarks.bench_inference_accuracy import _ratios

    from fab2token import catalog

    r = np.array([x[-1] for x in _ratios(1.0)])
    assert catalog.overhead("serving_engine_efficiency_frac") == pytest.approx(np.exp(-np.log(r).mean()), abs=0.001)


def validation_rows() -> list[dict]:
    """Every case evaluated now at the mean prompt length, for the validation page."""
    m, _ = mean_input_tokens()
    return [
        {
            "case": f"Llama 2 70B FP8, 8 {acc}, MLPerf v5.1 {scenario}",
            "published": published,
            "ours": mlperf_infer(acc, m, *SLO_MS[scenario]).tokens_per_s_per_accelerator,
            "unit": "tokens/s per GPU",
            "tolerance": 0.25,
        }
        for (acc, scenario), published in sorted(PUBLISHED_PER_GPU.items())
    ]
