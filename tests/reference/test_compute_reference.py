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


def test_llama3_405b_flops():
    # [L3] 3.8e25; ours adds the causal attention term at 8K context (+4 %); +-5 % covers it
    r = train("llama-3.1-405b", 15.6e12, "H100", 16384, mfu=0.40, seq_len=8192)
    assert r.flops == pytest.approx(3.8e25, rel=0.05)


def test_llama3_405b_gpu_hours_with_published_mfu():
    # [L3] MFU 38-43 % -> the midpoint 0.405; GPU-hours include our goodput model (Young/Daly checkpointing,
    # interruptions at the catalog failure rate, 60 s checkpoint writes, 10 min restarts). Published: 30.84M
    # (the whole pre-training incl. long-context and annealing stages). +-15 % per the issue.
    r = train("llama-3.1-405b", 15.6e12, "H100", 16384, mfu=0.405, seq_len=8192, tp=8, pp=16)
    assert r.accelerator_hours == pytest.approx(30.84e6, rel=0.15)


def test_llama3_interruptions_over_the_54_day_snapshot():
    # [L3] 419 unexpected interruptions in 54 days on 16,384 GPUs. NOTE: the catalog failure rate is derived from
    # this very figure (no independent H100-scale rate is published), so this is a consistency check of the
    # rate -> count arithmetic, not an independent prediction. +-25 % per the issue.
    r = train("llama-3.1-405b", 15.6e12, "H100", 16384, mfu=0.405, seq_len=8192)
    rate_per_hour = r.interruptions_expected / (r.days * 24)
    assert rate_per_hour * 54 * 24 == pytest.approx(419, rel=0.25)


def test_llama_65b_gpu_hours_from_published_throughput():
    # [LL1] 380 tokens/s/GPU -> MFU with our FLOP count at 2,048 context; GPU-hours published: 1,022,362.
    m = model_spec("llama-65b")
    fpt = float(flops_per_token_training(m["params_active"], m["layers"], m["heads"], m["head_dim"], 2048))
    mfu = fpt * 380 / 312e12
    r = train("llama-65b", 1.4e12, "A100", 2048, mfu=mfu, seq_len=2048)
    assert r.accelerator_hours == pytest.approx(1_022_362, rel=0.15)
    assert r.days == pytest.approx(21, rel=0.15)


def test_gpt3_training_flops():
    # [GPT3] 3.14e23 FLOPs for 300B tokens; ours includes attention at 2,048 context (+1.4 %)
    r = train("gpt-3", 300e9, "A100", 1024, mfu=0.3, seq_len=2048)
    assert r.flops == pytest.approx(3.14e23, rel=0.05)


def test_chinchilla_compute_optimal_point():
    # [CH] 5.76e23 FLOPs -> 70B parameters, 1.4T tokens
    n, d = chinchilla_optimal(5.76e23)
    assert float(n) == pytest.approx(70e9, rel=0.05)
    assert float(d) == pytest.approx(1.4e12, rel=0.05)


@pytest.mark.parametrize(
    "name,total,active",
    [
        ("gpt-3", 175e9, 175e9),  # [GPT3] Table 2.1
        ("llama-2-70b", 68.98e9, 68.98e9),  # Llama 2 released checkpoint
        ("llama-3-8b", 8.03e9, 8.03e9),  # [L3]
        ("llama-3-70b", 70.6e9, 70.6e9),  # [L3]
        ("llama-3.1-405b", 405.6e9, 405.6e9),  # [L3]
        ("mixtral", 46.7e9, 12.9e9),  # Jiang et al. 2024: 46.7B total, 12.9B active
        ("deepseek-v3", 671e9, 37e9),  # DeepSeek-V3 report: 671B total, 37B active
    ],
)
def test_parameter_counts_from_architecture(name, total, active):
    # architecture-derived counts (not the catalog's published totals) within 1 % / 2 %
    from fab2token.workloads import architecture as modelarch

    m = model_spec(name)
    t, a = modelarch.param_counts(**{k: m[k] for k in modelarch._ARCH})
    assert float(t) == pytest.approx(total, rel=0.01)
    assert float(a) == pytest.approx(active, rel=0.02)
