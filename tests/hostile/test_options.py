"""Class 5: the options of the look-ups (train, infer, supply, fabline) are checked by the functions the CLI calls.

Every bad value gives exit 2 and one message naming the function or the command line, the argument and its flag,
the value and what was expected; the Python API refuses the same values with the same error type.
"""

from __future__ import annotations

import math

import pytest
from typer.testing import CliRunner

from fab2token.cli import app
from fab2token.errors import OptionError, ScenarioError
from fab2token.workloads.inference import infer
from fab2token.workloads.training import train

TRAIN = ["train", "--model", "llama-3-70b", "--tokens", "1e12", "--accelerator", "H100", "--count", "64"]
INFER = ["infer", "--model", "llama-3-8b", "--accelerator", "H100", "--count", "8"]
SUPPLY = ["supply", "--accelerator", "H100", "--wafers-per-month", "1000", "--months", "3"]


def _refused(args: list[str], *needles: str) -> str:
    res = CliRunner().invoke(app, args)
    text = res.stdout + res.stderr
    assert res.exit_code == 2, text
    assert "Traceback" not in text and "internal error" not in text
    for needle in needles:
        assert needle in res.stderr, (needle, res.stderr)
    return res.stderr


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--mfu", "0", "(0, 1]"),
        ("--mfu", "2", "(0, 1]"),
        ("--mfu", "nan", "(0, 1]"),
        ("--tp", "0", ">= 1"),
        ("--tp", "3", "divisor of Llama-3-70B's 64 attention heads"),
        ("--pp", "0", ">= 1"),
        ("--pp", "81", "at most Llama-3-70B's 80 layers"),
        ("--zero-stage", "9", "[0, 3]"),
        ("--zero-stage", "-1", "[0, 3]"),
        ("--pue", "0.5", "[1, 3]"),
        ("--failure-rate", "-1", ">= 0"),
        ("--failure-rate", "inf", ">= 0"),
        ("--tokens", "nan", "> 0"),
        ("--tokens", "-5", "> 0"),
        ("--tokens", "1e300", "> 0"),
        ("--checkpoint-write-s", "-1", ">= 0"),
        ("--restart-s", "nan", ">= 0"),
        ("--usd-per-accelerator-hour", "-2", ">= 0"),
        ("--seq-len", "0", ">= 1"),
        ("--virtual-stages", "0", ">= 1"),
        ("--recompute", "sometimes", "none, selective, full"),
        ("--precision", "fp64", "bf16, fp8"),
    ],
)
def test_class5_train_option_refused(flag, value, expected):
    args = [a for a in TRAIN if a != "--tokens" and a != "1e12"] if flag == "--tokens" else TRAIN
    if flag == "--tokens":
        args = [*args, "--tokens", value]
    else:
        args = [*args, flag, value]
    _refused(args, "train:", f"({flag})", expected)


def test_class5_train_count_below_one_replica():
    _refused(
        [*TRAIN[:-1], "4", "--tp", "8", "--pp", "2"], "count (--count): got 4", "TP x PP = 4 x 2 = 8"
    )  # TP is capped at the count


def test_class5_train_count_zero():
    _refused([*TRAIN[:-1], "0"], "count (--count): got 0", ">= 1")


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--tp", "0", ">= 1"),
        ("--tp", "3", "divisor of Llama-3-8B's 32 attention heads"),
        ("--tp", "16", "at most the 8 accelerators"),
        ("--count", "0", ">= 1"),
        ("--input-tokens", "0", ">= 1"),
        ("--output-tokens", "-1", ">= 1"),
        ("--tpot-ms", "0", "> 0"),
        ("--tpot-ms", "nan", "> 0"),
        ("--ttft-ms", "-5", "> 0"),
        ("--engine-efficiency", "1.5", "(0, 1]"),
        ("--usd-per-accelerator-hour", "inf", ">= 0"),
        ("--precision", "fp3", "one of bf16"),
        ("--kv-precision", "bogus", "one of bf16"),
    ],
)
def test_class5_infer_option_refused(flag, value, expected):
    args = [a for a in INFER if a not in ("--count", "8")] if flag == "--count" else INFER
    _refused([*args, flag, value], "infer:", f"({flag})", expected)


@pytest.mark.parametrize(
    ("flag", "value", "path"),
    [
        ("--months", "0", "months: got 0"),
        ("--months", "100000", "months: got 100000"),
        ("--start", "2026-13", "from: got '2026-13'"),
        ("--die-area-mm2", "0", "compute_die_area_mm2: got 0.0"),
        ("--die-area-mm2", "-10", "compute_die_area_mm2: got -10.0"),
        ("--d0", "nan", "d0_per_cm2: got nan"),
        ("--d0", "-1", "d0_per_cm2: got -1.0"),
        ("--yield-model", "magic", "yield_model: got 'magic'"),
        ("--cycle-time-months", "-1", "cycle_time_months: got -1"),
        ("--packaging-yield", "0", "yield_frac: got 0.0"),
        ("--packaging-yield", "1.5", "yield_frac: got 1.5"),
        ("--interposer-area-mm2", "-3", "interposer_area_mm2: got -3.0"),
        ("--hbm-stacks-per-month", "-1", "stacks_per_month: got -1.0"),
        ("--wafer-price-usd", "inf", "wafer_price_usd: got inf"),
    ],
)
def test_class5_supply_option_refused(flag, value, path):
    _refused([*SUPPLY, flag, value], "<command line>", path)


def test_class5_supply_wafers_nan_refused():
    _refused(["supply", "--accelerator", "H100", "--wafers-per-month", "nan"], "wafers_per_month: got nan")


@pytest.mark.parametrize(
    ("flag", "value", "path"),
    [
        ("--days", "nan", "--days: got nan"),
        ("--days", "0", "--days: got 0.0"),
        ("--days", "inf", "--days: got inf"),
        # every run goes to its last day (the daily WIP sample): 1e308 days would never end
        ("--days", "1e308", "--days: got 1e+308; a positive number of days, at most 36,525"),
        ("--dispatch", "random", "--dispatch: got 'random'"),
        ("--warmup-days", "nan", "--warmup-days: got nan"),
        ("--warmup-days", "-1", "--warmup-days: got -1.0"),
        ("--warmup-days", "1000", "--warmup-days: got 1000.0"),
    ],
)
def test_class5_fabline_option_refused(flag, value, path, tmp_path):
    # options are checked before the fab folder is read, so no dataset is needed to refuse them
    _refused(["fabline", str(tmp_path), "--days", "10", flag, value], path)


# the Python API refuses the same values (the CLI only passes its options on)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"mfu": 0.0},
        {"mfu": math.nan},
        {"tp": 0},
        {"tp": 2.5},
        {"pp": 0},
        {"zero_stage": 9},
        {"micro_batch": 0},
        {"global_batch_tokens": -1.0},
        {"recipe": "sgd"},
        {"pue": 0.5},
        {"failure_rate_per_accelerator_hour": -1.0},
        {"tokens": math.inf},
        {"count": True},
    ],
)
def test_class5_train_api_refuses(kwargs):
    args = {"model": "llama-3-8b", "tokens": 1e12, "accelerator": "H100", "count": 8} | kwargs
    with pytest.raises(OptionError) as info:
        train(**args)
    (issue,) = info.value.issues
    assert issue.file == "train" and issue.path.startswith(next(iter(kwargs)))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tp": 0},
        {"tp": 3},
        {"count": 0},
        {"input_tokens": 0},
        {"output_tokens": 1.5},
        {"tpot_ms": math.nan},
        {"ttft_ms": 0.0},
        {"engine_efficiency": 0.0},
        {"precision": "fp3"},
        {"kv_precision": "x"},
    ],
)
def test_class5_infer_api_refuses(kwargs):
    args = {"model": "llama-3-8b", "accelerator": "H100", "count": 8} | kwargs
    with pytest.raises(OptionError) as info:
        infer(**args)
    (issue,) = info.value.issues
    assert issue.file == "infer" and issue.path.startswith(next(iter(kwargs)))


def test_class5_supply_api_refuses_months_and_overrides():
    from fab2token.api import supply_lookup

    section = {"accelerator": "H100", "fab": {"wafer_starts": [{"from": "2026-01", "wafers_per_month": 100}]}}
    with pytest.raises(ScenarioError) as info:
        supply_lookup(section, months=0, overrides={"accelerators": {"H100": {"compute_die_area_mm2": 0}}})
    paths = sorted(i.path for i in info.value.issues)
    assert paths == ["catalog.accelerators.H100.compute_die_area_mm2", "months"]


def test_class5_fabline_summary_refuses_warmup_beyond_the_run():
    from fab2token.supply.fabline.engine import FablineResult

    res = FablineResult.__new__(FablineResult)
    object.__setattr__(res, "days", 10.0)
    with pytest.raises(ScenarioError, match="warmup_days"):
        res.summary(warmup_days=20.0)


def test_class5_options_in_range_still_run():
    """The bounds refuse nonsense, not the edges of sense: MFU 1, PUE 1, no failures, TP = the heads."""
    res = train("llama-3-8b", 1e12, "H100", 32, mfu=1.0, pue=1.0, failure_rate_per_accelerator_hour=0.0, tp=32)
    assert res.days > 0 and res.mfu == 1.0
    assert infer("llama-3-8b", "H100", 8, tp=8, engine_efficiency=1.0).tokens_per_s > 0


def test_class5_free_checkpoints_and_restarts_give_full_goodput_not_nan():
    # checkpoint_write_s = 0 puts the Young/Daly interval at 0: the writing share is its limit 0, not 0/0
    res = train("llama-3-8b", 1e12, "H100", 8, mfu=0.4, checkpoint_write_s=0.0, restart_s=0.0)
    assert res.goodput == 1.0 and math.isfinite(res.days)


def test_class5_a_precision_the_part_lacks_is_refused():
    # the A100 has no FP8 tensor cores (its catalog row lists fp16, bf16, int8, int4): fp8 would silently run at BF16
    _refused([*INFER[:4], "A100", *INFER[5:], "--precision", "fp8"], "precision (--precision): got 'fp8'", "A100")
    # int8 / int4 weights are weight-only quantisation: computed in a wider format, so any part serves them
    assert infer("llama-3-8b", "A100", 8, precision="int8").tokens_per_s > 0
