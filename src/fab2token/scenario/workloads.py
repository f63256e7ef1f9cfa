"""The ``workloads`` and ``targets`` sections of a scenario: what the fleet runs (training runs in priority order,
inference demand under its SLOs) and what a plan must deliver (``fab2token plan``), with the other accelerators it
may buy (re-exported by :mod:`.models`)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, WithJsonSchema, model_validator

from fab2token.scenario.fields import USD, YearMonth, _Model, month_number

__all__ = [
    "AcceleratorOption",
    "CountStep",
    "DemandStep",
    "Inference",
    "Targets",
    "TrainingRun",
    "TrainingTarget",
    "Workloads",
]


def _mfu_or_search(value: Any) -> float | str:
    """A target's MFU: a number in (0, 1], or ``search`` (estimated by the layout search)."""
    if value == "search":
        return "search"
    expected = "expected a number in (0, 1] or search"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(expected)
    try:
        x = float(value)
    except ValueError:
        raise ValueError(expected) from None
    if not (math.isfinite(x) and 0 < x <= 1):
        raise ValueError(expected)
    return x


MfuOrSearch = Annotated[
    float | str,
    PlainValidator(_mfu_or_search),
    WithJsonSchema({"anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": 1}, {"const": "search"}]}),
]


class TrainingRun(_Model):
    """A training run: starts in the first month from ``start`` with ``accelerators`` free, holds them until done."""

    name: str = Field(min_length=1)
    """Name of the run, unique among workloads.training."""
    model: str
    """The model trained: a catalog model name or alias (`fab2token catalog models`)."""
    tokens: float = Field(gt=0)
    """Training tokens."""
    accelerators: int = Field(gt=0)
    """Accelerators the run holds from its start until it finishes."""
    start: YearMonth
    """Earliest month: it starts in the first month from then whose whole run has the accelerators free."""
    accelerator: str | None = None
    """The fleet type it runs on; omitted: supply.accelerator's type."""
    mfu: float | None = Field(default=None, gt=0, le=1)
    """Model FLOPs utilisation; omitted: estimated from the model, the accelerator and the layout."""
    seq_len: int | None = Field(default=None, gt=0)
    """Sequence length [tokens]; omitted: the model's context, at most 8192."""
    tp: int = Field(default=8, gt=0)
    """Tensor-parallel degree, capped at accelerators (it must divide the model's attention heads)."""
    pp: int = Field(default=1, gt=0)
    """Pipeline-parallel stages (at most the model's layers)."""
    layout: Literal["given", "search"] = "given"
    """search: the fastest layout that fits (TP, PP, CP, EP, micro-batch, interleaving, recompute, ZeRO); tp, pp unused."""
    attention_kernel: Literal["auto", "fa2", "fa3", "flat"] = "auto"
    """Attention kernel of an estimated MFU: fa2 / fa3 at their published rates, flat, or auto (newest published)."""
    checkpoint_write_s: float = Field(default=60.0, ge=0)
    """Seconds to write a checkpoint: sets the Young/Daly checkpoint interval and the goodput."""
    restart_s: float = Field(default=600.0, ge=0)
    """Seconds to restart after a failure, lost from the goodput at every failure."""


class DemandStep(_Model):
    """From month ``from`` on, ``tokens_per_s`` of inference demand (output tokens), until the next step."""

    from_: YearMonth = Field(alias="from")
    """Month (YYYY-MM) from which this step holds, until the next step's month (no demand before the first)."""
    tokens_per_s: float = Field(ge=0)
    """Inference demand from this step on [output tokens/s]."""


class Inference(_Model):
    """Inference demand served by the accelerators not held by training runs."""

    model: str
    """The model served: a catalog model name or alias (`fab2token catalog models`)."""
    demand: list[DemandStep] = Field(default_factory=list)
    """Demand to serve, as a step schedule; default none."""
    precision: Literal["bf16", "fp16", "fp8", "int8", "int4", "nvfp4", "mxfp4"] = "bf16"
    """Precision of the weights and the KV cache."""
    tp: int | None = Field(default=None, gt=0)
    """Tensor-parallel degree of a replica; omitted: the degree up to 8 with the most tokens/s per accelerator."""
    input_tokens: int = Field(default=1024, gt=0)
    """Prompt length of a request [tokens]."""
    output_tokens: int = Field(default=256, gt=0)
    """Output length of a request [tokens]."""
    tpot_ms: float = Field(default=50.0, gt=0)
    """Time-per-output-token SLO [ms]."""
    ttft_ms: float = Field(default=2000.0, gt=0)
    """Time-to-first-token SLO [ms]."""


class Workloads(_Model):
    """What the fleet runs: training runs (in priority order) and inference demand."""

    training: list[TrainingRun] = Field(default_factory=list)
    """Training runs, scheduled in the order listed (each on what earlier runs left free); default none."""
    inference: Inference | None = None
    """Inference served by the accelerators no run holds; omitted: no inference."""


class TrainingTarget(_Model):
    """Train ``model`` on ``tokens`` (or a given number of ``flops``) between ``start`` and ``deadline``."""

    name: str = Field(min_length=1)
    """Name of the target (in the plan's schedule and shortfalls)."""
    model: str
    """The model trained: a catalog model name or alias (`fab2token catalog models`)."""
    tokens: float | None = Field(default=None, gt=0)
    """Training tokens, turned into FLOPs by the model's FLOPs per token (give tokens or flops)."""
    flops: float | None = Field(default=None, gt=0)
    """Training FLOPs to do; given, it replaces the FLOPs from tokens (give tokens or flops)."""
    deadline: YearMonth
    """Last month (inclusive) in which the target's training may run."""
    start: YearMonth | None = None
    """First month in which it may run; omitted: the horizon's start."""
    mfu: MfuOrSearch = 0.4
    """Model FLOPs utilisation of the target's FLOPs; search: estimated per type on reference_accelerators of it."""
    site: str | None = None
    """A site whose accelerators must do all of it (a site's name); omitted: any sites."""
    reference_accelerators: int = Field(default=16384, gt=0)
    """Cluster size at which the target's goodput (failures, checkpoints) is computed."""

    @model_validator(mode="after")
    def _size(self) -> TrainingTarget:
        if self.tokens is None and self.flops is None:
            raise ValueError("give tokens (with the model) or flops")
        if self.start is not None and month_number(self.start) > month_number(self.deadline):
            raise ValueError(f"start {self.start} is after the deadline {self.deadline}: start no later than it")
        return self


class CountStep(_Model):
    """From month ``from`` on, ``per_month`` units available each month (until the next step)."""

    from_: YearMonth = Field(alias="from")
    """Month (YYYY-MM) from which this step holds, until the next step's month (none before the first)."""
    per_month: float = Field(ge=0)
    """Accelerators available each month from this step on."""


class AcceleratorOption(_Model):
    """Another accelerator the plan may buy, from a market supply of ``available`` units a month."""

    accelerator: str
    """A catalog accelerator name or alias, other than supply.accelerator and the fleet's types."""
    price_usd: USD
    """Price per accelerator bought."""
    available: list[CountStep] = Field(min_length=1)
    """The most the plan may buy each month, as a step schedule."""


class Targets(_Model):
    """What a plan must deliver (``fab2token plan``), and the other accelerators it may buy."""

    training: list[TrainingTarget] = Field(default_factory=list)
    """Training targets the plan must meet, each between its start and deadline; default none."""
    inference_demand: list[DemandStep] = Field(default_factory=list)
    """Inference demand the plan must serve, with workloads.inference's model and SLOs (needed); default none."""
    budget_usd: USD | None = None
    """Spending limit of --objective max-compute on the plan's discounted costs (needed there)."""
    discount_rate_per_year: float = Field(default=0.0, ge=0, le=1)
    """Yearly discount rate of the plan's costs: month t weighs (1 + rate)^-(t / 12); default 0."""
    hall_block_mw: float | None = Field(default=None, gt=0)
    """With --milp: IT MW is built in whole blocks of this size; omitted: built in any amount."""
    accelerator_options: list[AcceleratorOption] = Field(default_factory=list)
    """Other accelerator types the plan may buy from a market supply; default none."""
    value_usd_per_flop: float | None = Field(default=None, ge=0)
    """Worth of one FLOP of a training target [USD], to price a shortfall's limits (no penalty); omitted: unpriced."""
    value_usd_per_million_tokens: float | None = Field(default=None, ge=0)
    """What a million tokens of the inference demand served are worth [USD], likewise; omitted: unpriced."""
