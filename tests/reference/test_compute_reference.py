"""Training compute against published runs.

Sources
-------
[L3]   Llama Team, "The Llama 3 Herd of Models" (2024), https://arxiv.org/abs/2407.21783: 405B parameters, 15.6T
       tokens, 3.8e25 FLOPs (section 3.1.1 / Table 3), 16,384 H100 GPUs at 38-43 % BF16 MFU (Table 4), 419
       unexpected interruptions in a 54-day snapshot (section 3.3.4). Llama 3.1 model card: 30.84M H100 GPU-hours for
       405B (https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/MODEL_CARD.md).
[LL1]  Touvron et al., "LLaMA: Open and Efficient Foundation Language Models" (2023), https://arxiv.org/abs/2302.13971:
       LLaMA-65B on 2,048 A100-80GB at ~380 tokens/s/GPU, 1.4T tokens, ~21 days (section 2.4); 1,022,362
       GPU-hours (Table 15).
[GPT3] Brown et al., "Language Models are Few-Shot Learners" (2020), https://arxiv.org/abs/2005.14165: GPT-3 175B,
       300B training tokens, 3.14e23 FLOPs (Table D.1).
[CH]   Hoffmann et al., "Training Compute-Optimal Large Language Models" (2022), https://arxiv.org/abs/2203.15556:
       Chinchilla, 70B parameters and 1.4T tokens for Gopher's budget of 5.76e23 FLOPs.
"""

from __future__ import annotations

import pytest

from fab2token.workloads.architecture import chinchilla_optimal, flops_per_token_training, model_spec
from fab2token.workloads.training import train

GOPHER_BUDGET_FLOPS = 5.76e23  # [CH]
# each check: (case, published figure, relative tolerance, unit); the tests' and the validation page's
PUBLISHED = {
    "llama3_405b_flops": ("Llama 3.1 405B training FLOPs [L3]", 3.8e25, 0.05, "FLOPs"),
    "llama3_405b_gpu_hours": ("Llama 3.1 405B GPU-hours at the published MFU [L3]", 30.84e6, 0.15, "GPU-hours"),
    "llama3_interruptions": (
        "Llama 3 interruptions in the 54-day snapshot [L3] (in-sample: the catalog failure rate is derived from it)",
        419,
        0.25,
        "interruptions",
    ),
    "llama_65b_gpu_hours": ("LLaMA-65B GPU-hours from the published throughput [LL1]", 1_022_362, 0.15, "GPU-hours"),
    "llama_65b_days": ("LLaMA-65B training days from the published throughput [LL1]", 21, 0.15, "days"),
    "gpt3_flops": ("GPT-3 175B training FLOPs [GPT3]", 3.14e23, 0.05, "FLOPs"),
    "chinchilla_params": (
        f"Chinchilla compute-optimal parameters for {GOPHER_BUDGET_FLOPS:.3g} FLOPs [CH]",
        70e9,
        0.05,
        "parameters",
    ),
    "chinchilla_tokens": (
        f"Chinchilla compute-optimal tokens for {GOPHER_BUDGET_FLOPS:.3g} FLOPs [CH]",
        1.4e12,
        0.05,
        "tokens",
    ),
}
PARAMETER_TOLERANCE = {"total": 0.01, "active": 0.02}
PARAMETER_COUNTS = [
    ("gpt-3", 175e9, 175e9),  # [GPT3] Table 2.1
    ("llama-2-70b", 68.98e9, 68.98e9),  # Llama 2 released checkpoint
    ("llama-3-8b", 8.03e9, 8.03e9),  # [L3]
    ("llama-3-70b", 70.6e9, 70.6e9),  # [L3]
    ("llama-3.1-405b", 405.6e9, 405.6e9),  # [L3]
    ("mixtral", 46.7e9, 12.9e9),  # Jiang et al. 2024: 46.7B total, 12.9B active
    ("deepseek-v3", 671e9, 37e9),  # DeepSeek-V3 report: 671B total, 37B active
]


def _llama3_405b_flops() -> float:
    return train("llama-3.1-405b", 15.6e12, "H100", 16384, mfu=0.40, seq_len=8192).flops


def _llama3_405b_gpu_hours() -> float:
    return train("llama-3.1-405b", 15.6e12, "H100", 16384, mfu=0.405, seq_len=8192, tp=8, pp=16).accelerator_hours


def _llama3_interruptions() -> float:
    r = train("llama-3.1-405b", 15.6e12, "H100", 16384, mfu=0.405, seq_len=8192)
    rate_per_hour = r.interruptions_expected / (r.days * 24)
    return rate_per_hour * 54 * 24


def _llama_65b():
    # [LL1] 380 tokens/s/GPU -> MFU with our FLOP count at 2,048 context
    m = model_spec("llama-65b")
    fpt = float(flops_per_token_training(m["params_active"], m["layers"], m["heads"], m["head_dim"], 2048))
    mfu = fpt * 380 / 312e12
    return train("llama-65b", 1.4e12, "A100", 2048, mfu=mfu, seq_len=2048)


MODELLED = {
    "llama3_405b_flops": _llama3_405b_flops,
    "llama3_405b_gpu_hours": _llama3_405b_gpu_hours,
    "llama3_interruptions": _llama3_interruptions,
    "llama_65b_gpu_hours": lambda: _llama_65b().accelerator_hours,
    "llama_65b_days": lambda: _llama_65b().days,
    "gpt3_flops": lambda: train("gpt-3", 300e9, "A100", 1024, mfu=0.3, seq_len=2048).flops,
    "chinchilla_params": lambda: float(chinchilla_optimal(GOPHER_BUDGET_FLOPS)[0]),
    "chinchilla_tokens": lambda: float(chinchilla_optimal(GOPHER_BUDGET_FLOPS)[1]),
}


def _assert_matches(key: str) -> None:
    _, published, rel, _ = PUBLISHED[key]
    assert MODELLED[key]() == pytest.approx(published, rel=rel)


def test_llama3_405b_flops():
    # [L3] 3.8e25; ours adds the causal attention term at 8K context (+4 %); +-5 % covers it
    _assert_matches("llama3_405b_flops")


def test_llama3_405b_gpu_hours_with_published_mfu():
    # [L3] MFU 38-43 % -> the midpoint 0.405; GPU-hours include our goodput model (Young/Daly checkpointing,
    # interruptions at the catalog failure rate, 60 s checkpoint writes, 10 min restarts). Published: 30.84M
    # (the whole pre-training incl. long-context and annealing stages). +-15 % per the issue.
    _assert_matches("llama3_405b_gpu_hours")


def test_llama3_interruptions_over_the_54_day_snapshot():
    # [L3] 419 unexpected interruptions in 54 days on 16,384 GPUs. NOTE: the catalog failure rate is derived from
    # this very figure (no independent H100-scale rate is published), so this is a consistency check of the
    # rate -> count arithmetic, not an independent prediction. +-25 % per the issue.
    _assert_matches("llama3_interruptions")


def test_llama_65b_gpu_hours_from_published_throughput():
    # [LL1] 380 tokens/s/GPU -> MFU with our FLOP count at 2,048 context; GPU-hours published: 1,022,362.
    _assert_matches("llama_65b_gpu_hours")
    _assert_matches("llama_65b_days")


def test_gpt3_training_flops():
    # [GPT3] 3.14e23 FLOPs for 300B tokens; ours includes attention at 2,048 context (+1.4 %)
    _assert_matches("gpt3_flops")


def test_chinchilla_compute_optimal_point():
    # [CH] 5.76e23 FLOPs -> 70B parameters, 1.4T tokens
    _assert_matches("chinchilla_params")
    _assert_matches("chinchilla_tokens")


def _param_counts(name: str) -> tuple[float, float]:
    """Architecture-derived (total, active) parameter counts (not the catalog's published totals)."""
    from fab2token.workloads import architecture as modelarch

    m = model_spec(name)
    t, a = modelarch.param_counts(**{k: m[k] for k in modelarch._ARCH})
    return float(t), float(a)


@pytest.mark.parametrize("name,total,active", PARAMETER_COUNTS)
def test_parameter_counts_from_architecture(name, total, active):
    # architecture-derived counts (not the catalog's published totals) within 1 % / 2 %
    t, a = _param_counts(name)
    assert t == pytest.approx(total, rel=PARAMETER_TOLERANCE["total"])
    assert a == pytest.approx(active, rel=PARAMETER_TOLERANCE["active"])


def validation_rows() -> list[dict]:
    """Every published figure evaluated now, for the validation page; of the parameter counts, the total for every
    model and the active count where it differs from the total (the MoE models)."""
    rows = [
        {"case": case, "published": float(pub), "ours": float(MODELLED[key]()), "unit": unit, "tolerance": rel}
        for key, (case, pub, rel, unit) in PUBLISHED.items()
    ]
    for name, total, active in PARAMETER_COUNTS:
        t, a = _param_counts(name)
        counts = [("total", total, t)] + ([("active", active, a)] if active != total else [])
        rows += [
            {
                "case": f"{name}, {kind} parameters from the architecture",
                "published": published,
                "ours": ours,
                "unit": "parameters",
                "tolerance": PARAMETER_TOLERANCE[kind],
            }
            for kind, published, ours in counts
        ]
    return rows
