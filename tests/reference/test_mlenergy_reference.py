"""Serving throughput at a fixed batch against the ML.ENERGY Leaderboard's vLLM measurements (out of sample).

Reference: ML.ENERGY Leaderboard v3.0, task lm-arena-chat, H100 80GB HBM3 rows of Llama 3.1 8B (1 GPU) and Llama 3.1
70B (TP4), vLLM 0.11.1, BF16 (``data/mlenergy_llama31_h100.csv``, copied field by field; source and settings in its
header). Each row is one ``max_num_seqs`` with its measured mean concurrency (``avg_batch_size``), mean output length
and output tokens/s over the steady-state window.

Out of sample: the engine efficiency (``catalog/overheads.csv``) was fitted on NVIDIA's TensorRT-LLM overview only; no
ML.ENERGY figure was used to fit or choose anything. The model runs at the row's measured concurrency (``--batch``)
and mean output length.

The mean prompt length is not published (the benchmark samples LMArena conversations, multi-turn ones
concatenated), and each step's prefill and KV reads grow with it. It is bracketed: from 16 tokens (a one-line
question) to the longest at which the model's own KV-cache accounting still holds the highest concurrency measured
for that model (at the largest ``max_num_seqs`` vLLM ran below its cap, so memory bound it) — a bound from the rows'
concurrencies, not from their throughputs. A row counts only where the bracket moves the prediction by less than
10 %, and there both ends must be within +-25 % of the measured tokens/s: the bound the MLPerf test defends (the same
hardware gained 25-43 % per GPU from software alone between two MLPerf rounds, ``test_inference_reference.py``). The
other rows are printed, not asserted: there the unknown prompt length, not the model, decides the prediction.

Energy is printed, not tested: the measured GPU power rises from 486 to 691 W with the batch (8B), and the model has
no power-vs-load curve yet (``power_frac`` is the user's), so a J/token test would only test the throughput again.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from fab2token import catalog
from fab2token.workloads.architecture import model_spec
from fab2token.workloads.inference import infer, replica

DATA = Path(__file__).parent / "data" / "mlenergy_llama31_h100.csv"
SHORTEST_PROMPT = 16  # tokens: the bracket's lower end
INSENSITIVE = 1.10  # the bracket may move a counted row's prediction by at most this factor
TOL = 0.25


def _rows() -> list[dict[str, str]]:
    with DATA.open() as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def _predict(row: dict[str, str], prompt: int, **kw) -> object:
    gpus = int(row["num_gpus"])
    return infer(
        row["model"],
        "H100",
        count=gpus,
        tp=int(row["tensor_parallel"]),
        batch=round(float(row["avg_batch_size"])),
        input_tokens=prompt,
        output_tokens=round(float(row["avg_output_len"])),
        tpot_ms=1e9,
        ttft_ms=1e9,
        **kw,
    )


def longest_prompt(rows: list[dict[str, str]], model: str) -> int:
    """The longest mean prompt at which the model's KV-cache accounting holds the model's highest measured
    concurrency (its rows share one layout)."""
    mine = [r for r in rows if r["model"] == model]
    top = max(mine, key=lambda r: float(r["avg_batch_size"]))
    prompts = np.arange(SHORTEST_PROMPT, 8192)
    r = replica(model_spec(model), catalog.lookup("accelerators", "H100"), int(top["tensor_parallel"]), "bf16",
                prompts, round(float(top["avg_output_len"])))  # fmt: skip
    fits = prompts[r.max_batch >= round(float(top["avg_batch_size"]))]
    assert fits.size, f"{model}: the model cannot hold the measured concurrency at any prompt length"
    return int(fits.max())


ROWS = _rows()
IDS = [f"{r['model']}-tp{r['tensor_parallel']}-seqs{r['max_num_seqs']}" for r in ROWS]
BRACKET = {m: (SHORTEST_PROMPT, longest_prompt(ROWS, m)) for m in sorted({r["model"] for r in ROWS})}


def _bracket(row: dict[str, str]) -> tuple[float, float, float]:
    """Predicted tokens/s at both ends of the prompt bracket, and the factor between them."""
    lo, hi = (_predict(row, p).tokens_per_s for p in BRACKET[row["model"]])
    return lo, hi, max(lo, hi) / min(lo, hi)


def _print_all() -> list[str]:
    """Every row's prediction against its measurement; returns the counted rows' ids."""
    counted = []
    for row, name in zip(ROWS, IDS, strict=True):
        measured = float(row["output_tokens_per_s"])
        a, b, spread = _bracket(row)
        gpu_w = float(row["avg_power_w"]) / int(row["num_gpus"])
        ok = spread <= INSENSITIVE
        print(f"{name}: prompt {BRACKET[row['model']]}, measured {measured:,.0f} tok/s at {gpu_w:.0f} W a GPU "
              f"({float(row['joules_per_token']):.3f} J/token); model {min(a, b):,.0f}-{max(a, b):,.0f} (ratio "
              f"{min(a, b) / measured:.2f}-{max(a, b) / measured:.2f}), {'counted' if ok else 'not counted'}")  # fmt: skip
        counted += [name] if ok else []
    return counted


COUNTED = [(r, n) for r, n in zip(ROWS, IDS, strict=True) if _bracket(r)[2] <= INSENSITIVE]
#: the known gap: from batch 64 the model is 1.3-1.75x faster than vLLM 0.11.1 (the engine efficiency was fitted on
#: TensorRT-LLM; what vLLM spends beyond the roofline at these batches is not modelled). Strict: a fix must show.
GAP = pytest.mark.xfail(strict=True, reason="model 1.3-1.75x faster than vLLM from batch 64 (issue 15)")


def test_counted_rows_cover_both_models() -> None:
    assert _print_all() == [n for _, n in COUNTED]
    assert {r["model"] for r, _ in COUNTED} == set(BRACKET), "a model has no counted row"


@pytest.mark.parametrize(
    "row", [pytest.param(r, marks=[GAP] if float(r["avg_batch_size"]) > 60 else []) for r, _ in COUNTED],
    ids=[n for _, n in COUNTED],
)  # fmt: skip
def test_throughput_at_measured_concurrency(row: dict[str, str]) -> None:
    measured = float(row["output_tokens_per_s"])
    for predicted in _bracket(row)[:2]:
        assert predicted == pytest.approx(measured, rel=TOL)
