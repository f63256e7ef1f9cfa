"""Serving throughput at a fixed batch against the ML.ENERGY Leaderboard's vLLM measurements (out of sample).

Reference: ML.ENERGY Leaderboard v3.0, task lm-arena-chat, H100 80GB HBM3 and B200 rows of Llama 3.1 8B (1 GPU) and
Llama 3.1 70B (TP 4 on H100, TP 2 on B200), vLLM 0.11.1, BF16 (``data/mlenergy_llama31.csv``, copied field by field;
source and settings in its header). Each row is one ``max_num_seqs`` with its measured mean concurrency
(``avg_batch_size``), mean output length and output tokens/s over the steady-state window.

Out of sample: the engine efficiency (``catalog/overheads.csv``) was fitted on NVIDIA's TensorRT-LLM overview only; no
ML.ENERGY figure was used to fit or choose anything. The model runs at the row's measured concurrency (``--batch``)
and mean output length.

The mean prompt length is not published (the benchmark samples LMArena conversations, multi-turn ones concatenated),
and each step's prefill and KV reads grow with it. It is bracketed: from 16 tokens (a one-line question) to the
longest at which the highest concurrency measured for that model and GPU fits in the KV cache the model leaves, at a
sequence's mean occupancy, prompt plus half the output (vLLM cannot run more sequences than its paged cache holds) — a
bound from the rows' concurrencies, not from their throughputs. (The model's own batch limit reserves prompt plus the
whole output and cannot hold the 70B's top concurrency on B200: it is conservative.) A row counts only where the
bracket moves the prediction by less than 10 %, and there both ends must be within +-25 % of the measured tokens/s:
the bound the MLPerf test defends (the same hardware gained 25-43 % per GPU from software alone between two MLPerf
rounds, ``test_inference_reference.py``). The other rows are printed, not asserted: there the unknown prompt length,
not the model, decides the prediction.

Energy is printed, not tested: the measured GPU power rises from 486 to 691 W with the batch (8B on H100), and the
model has no power-vs-load curve yet (``power_frac`` is the user's), so a J/token test would only test the throughput
again.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fab2token import catalog
from fab2token.workloads.architecture import model_spec
from fab2token.workloads.inference import infer, replica

DATA = Path(__file__).parent / "data" / "mlenergy_llama31.csv"
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
        row["gpu"],
        count=gpus,
        tp=int(row["tensor_parallel"]),
        batch=round(float(row["avg_batch_size"])),
        input_tokens=prompt,
        output_tokens=round(float(row["avg_output_len"])),
        tpot_ms=1e9,
        ttft_ms=1e9,
        **kw,
    )


def longest_prompt(rows: list[dict[str, str]], key: tuple[str, str]) -> int:
    """The longest mean prompt at which the highest concurrency measured for ``key`` (accelerator, model; its rows
    share one layout) fits in the KV cache the model leaves, at a sequence's mean occupancy: its prompt plus half
    its output (vLLM's paged cache holds only the tokens made so far)."""
    gpu, model = key
    top = max((r for r in rows if (r["gpu"], r["model"]) == key), key=lambda r: float(r["avg_batch_size"]))
    r = replica(model_spec(model), catalog.lookup("accelerators", gpu), int(top["tensor_parallel"]), "bf16", 1, 1)
    kv_room_tokens = 2.0 * float(r.max_batch)  # sequences of 2 tokens that fit: the room in tokens, to within 2
    longest = kv_room_tokens / float(top["avg_batch_size"]) - float(top["avg_output_len"]) / 2.0
    assert longest > SHORTEST_PROMPT, (
        f"{key}: the measured concurrency does not fit even {SHORTEST_PROMPT}-token prompts"
    )
    return int(longest)


ROWS = _rows()
IDS = [f"{r['gpu']}-{r['model']}-tp{r['tensor_parallel']}-seqs{r['max_num_seqs']}" for r in ROWS]
BRACKET = {k: (SHORTEST_PROMPT, longest_prompt(ROWS, k)) for k in sorted({(r["gpu"], r["model"]) for r in ROWS})}


def _bracket(row: dict[str, str]) -> tuple[float, float, float]:
    """Predicted tokens/s at both ends of the prompt bracket, and the factor between them."""
    lo, hi = (_predict(row, p).tokens_per_s for p in BRACKET[row["gpu"], row["model"]])
    return lo, hi, max(lo, hi) / min(lo, hi)


def _print_all() -> list[str]:
    """Every row's prediction against its measurement; returns the counted rows' ids."""
    counted = []
    for row, name in zip(ROWS, IDS, strict=True):
        measured = float(row["output_tokens_per_s"])
        a, b, spread = _bracket(row)
        gpu_w = float(row["avg_power_w"]) / int(row["num_gpus"])
        ok = spread <= INSENSITIVE
        print(f"{name}: prompt {BRACKET[row['gpu'], row['model']]}, measured {measured:,.0f} tok/s at {gpu_w:.0f} W a GPU "
              f"({float(row['joules_per_token']):.3f} J/token); model {min(a, b):,.0f}-{max(a, b):,.0f} (ratio "
              f"{min(a, b) / measured:.2f}-{max(a, b) / measured:.2f}), {'counted' if ok else 'not counted'}")  # fmt: skip
        counted += [name] if ok else []
    return counted


COUNTED = [(r, n) for r, n in zip(ROWS, IDS, strict=True) if _bracket(r)[2] <= INSENSITIVE]
#: the known gaps, listed row by row and strict (a fix must show): on H100 from batch 64 the model is 1.3-1.6x faster
#: than vLLM 0.11.1 (the engine efficiency was fitted on TensorRT-LLM; what vLLM spends beyond the roofline at these
#: batches is not modelled); on B200 it is 1.4-2.5x faster for the 8B model and from batch 32 for the 70B (the
#: measured 8B rows are not monotone in the batch and draw 450-690 W of the 1,000 W board: the engine release, not
#: the hardware, looks like the limit). Batch 8-16 of the 70B on B200 are within the bound (1.17, 1.22).
KNOWN_GAP = {
    "H100-llama-3.1-70b-tp4-seqs64": "H100, batch 64: model 1.34-1.42x faster than vLLM",
    "H100-llama-3.1-70b-tp4-seqs96": "H100, batch 96: model 1.47-1.61x faster than vLLM",
    "B200-llama-3.1-8b-tp1-seqs8": "B200: model 1.46-1.49x faster than vLLM",
    "B200-llama-3.1-8b-tp1-seqs16": "B200: model 1.67-1.74x faster than vLLM",
    "B200-llama-3.1-8b-tp1-seqs32": "B200: model 2.27-2.45x faster than vLLM",
    "B200-llama-3.1-70b-tp2-seqs32": "B200: model 1.38-1.39x faster than vLLM",
    "B200-llama-3.1-70b-tp2-seqs64": "B200: model 1.64-1.66x faster than vLLM",
    "B200-llama-3.1-70b-tp2-seqs128": "B200: model 2.04-2.10x faster than vLLM",
}


def _gap(name: str) -> list[pytest.MarkDecorator]:
    return [pytest.mark.xfail(strict=True, reason=f"{KNOWN_GAP[name]} (issue 15)")] if name in KNOWN_GAP else []


def test_counted_rows_cover_both_models() -> None:
    assert _print_all() == [n for _, n in COUNTED]
    assert {(r["gpu"], r["model"]) for r, _ in COUNTED} == set(BRACKET), "a model has no counted row"


@pytest.mark.parametrize(
    "row", [pytest.param(r, marks=_gap(n)) for r, n in COUNTED],
    ids=[n for _, n in COUNTED],
)  # fmt: skip
def test_throughput_at_measured_concurrency(row: dict[str, str]) -> None:
    measured = float(row["output_tokens_per_s"])
    for predicted in _bracket(row)[:2]:
        assert predicted == pytest.approx(measured, rel=TOL)
