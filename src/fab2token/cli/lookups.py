"""Quick look-ups without a whole scenario run: site, supply, train, infer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fab2token.cli.common import (
    JsonOpt,
    _num,
    _print_json,
    _summary_table,
    app,
    handles_errors,
    out,
)

SITE_KEYS = (
    "it_power_mw",
    "facility_power_mw",
    "pue_mean",
    "pue_p99",
    "water_m3",
    "carbon_tco2",
    "max_cluster_accelerators",
)


@app.command()
@handles_errors
def site(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    name: Annotated[str, typer.Option("--site", help="Site name.")],
    as_json: JsonOpt = False,
) -> None:
    """One site's monthly power, PUE, water, carbon and largest training cluster."""
    from fab2token.engine.simulate import simulate
    from fab2token.errors import InputIssue
    from fab2token.errors import ScenarioError as _SE
    from fab2token.scenario import load_scenario

    sc, _ = load_scenario(scenario)
    names = [s_.name for s_ in sc.sites]
    if name not in names:
        raise _SE([InputIssue(str(scenario), "--site", name, f"one of the scenario's sites: {', '.join(names)}")])
    ds = simulate(sc).sel(site=name)
    res: dict[str, Any] = {"site": name, "months": [str(m) for m in ds["month"].values]}
    extra = ("grid_power_mw", "onsite_power_mw", "it_capacity_mw")
    extra += ("grid_energy_mwh", "onsite_energy_mwh", "solar_energy_mwh", "battery_energy_mwh")
    extra += ("optics_power_kw", "optics_capex_usd")
    for key in SITE_KEYS + extra:
        res[key] = [float(x) for x in ds[key].values]
    if as_json:
        _print_json(res)
        return
    t = Table(title=f"site {name}")
    for col in (
        "month",
        "IT MW cap",
        "IT MW used",
        "facility MW",
        "PUE mean",
        "PUE p99",
        "water m3",
        "tCO2",
        "max cluster",
    ):
        t.add_column(col, justify="right")
    for i, m in enumerate(res["months"]):
        t.add_row(
            m,
            f"{res['it_capacity_mw'][i]:.1f}",
            f"{res['it_power_mw'][i]:.1f}",
            f"{res['facility_power_mw'][i]:.1f}",
            f"{res['pue_mean'][i]:.3f}",
            f"{res['pue_p99'][i]:.3f}",
            f"{res['water_m3'][i]:,.0f}",
            f"{res['carbon_tco2'][i]:,.0f}",
            f"{res['max_cluster_accelerators'][i]:,.0f}",
        )
    out.print(t)


@app.command()
@handles_errors
def supply(
    accelerator: Annotated[str, typer.Option("--accelerator", "-a", help="Catalog name or alias, e.g. H100.")],
    wafers_per_month: Annotated[float, typer.Option("--wafers-per-month", help="Wafer starts per month.")],
    months: Annotated[int, typer.Option("--months", help="Months to show.")] = 24,
    start: Annotated[str, typer.Option("--start", help="First month, YYYY-MM.")] = "2026-01",
    d0: Annotated[float | None, typer.Option("--d0", help="Mature defect density [1/cm2].")] = None,
    d0_launch: Annotated[float | None, typer.Option("--d0-launch", help="D0 at node launch [1/cm2].")] = None,
    d0_ramp_months: Annotated[float | None, typer.Option("--d0-ramp-months", help="D0 learning time constant.")] = None,
    yield_model: Annotated[
        str, typer.Option("--yield-model", help="poisson|murphy|seeds|bose-einstein|negative-binomial")
    ] = "murphy",
    cycle_time_months: Annotated[int, typer.Option("--cycle-time-months", help="Wafer start to chip out.")] = 0,
    die_area_mm2: Annotated[float | None, typer.Option("--die-area-mm2", help="Override compute die area.")] = None,
    wafer_price_usd: Annotated[float | None, typer.Option("--wafer-price-usd", help="Override wafer price.")] = None,
    packaging_wafers_per_month: Annotated[
        float | None, typer.Option("--packaging-wafers-per-month", help="CoWoS-like capacity.")
    ] = None,
    interposer_area_mm2: Annotated[float | None, typer.Option("--interposer-area-mm2", help="Interposer area.")] = None,
    packaging_yield: Annotated[float, typer.Option("--packaging-yield", help="Assembly yield fraction.")] = 1.0,
    packaging_cost_usd_per_wafer: Annotated[float | None, typer.Option("--packaging-cost-usd-per-wafer")] = None,
    hbm_stacks_per_month: Annotated[float | None, typer.Option("--hbm-stacks-per-month", help="HBM supply.")] = None,
    hbm_price_usd_per_stack: Annotated[float | None, typer.Option("--hbm-price-usd-per-stack")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Quick look-up: wafers -> dies -> packaging -> HBM -> accelerators per month, and what limits them."""
    from fab2token.api import supply_lookup

    opts = {k: v for k, v in locals().items() if k not in ("accelerator", "as_json", "supply_lookup")}
    section = {"accelerator": accelerator, **_supply_section(opts)}
    die = {"compute_die_area_mm2": die_area_mm2}
    overrides = None if die_area_mm2 is None else {"accelerators": {accelerator: die}}
    res = supply_lookup(section, months=months, start=start, overrides=overrides)
    if as_json:
        _print_json(res)
        return
    _print_supply(res, wafers_per_month)


def _supply_section(o: dict[str, Any]) -> dict[str, Any]:
    """The scenario's ``supply`` section (fab, packaging, HBM) that the ``supply`` command's options describe."""
    fab: dict[str, Any] = {
        "wafer_starts": [{"from": o["start"], "wafers_per_month": o["wafers_per_month"]}],
        "yield_model": o["yield_model"],
        "cycle_time_months": o["cycle_time_months"],
    }
    for key, val in (
        ("d0_per_cm2", o["d0"]),
        ("d0_launch_per_cm2", o["d0_launch"]),
        ("d0_ramp_months", o["d0_ramp_months"]),
        ("wafer_price_usd", o["wafer_price_usd"]),
    ):
        if val is not None:
            fab[key] = val
    section: dict[str, Any] = {"fab": fab}
    packaging = {
        "capacity_wafers_per_month": None
        if o["packaging_wafers_per_month"] is None
        else [{"from": o["start"], "wafers_per_month": o["packaging_wafers_per_month"]}],
        "yield_frac": o["packaging_yield"],
        "interposer_area_mm2": o["interposer_area_mm2"],
        "cost_usd_per_wafer": o["packaging_cost_usd_per_wafer"],
    }
    section["packaging"] = {k: v for k, v in packaging.items() if v is not None}
    if o["hbm_stacks_per_month"] is not None or o["hbm_price_usd_per_stack"] is not None:
        section["hbm"] = {}
        if o["hbm_stacks_per_month"] is not None:
            section["hbm"]["supply_stacks_per_month"] = [
                {"from": o["start"], "stacks_per_month": o["hbm_stacks_per_month"]}
            ]
        if o["hbm_price_usd_per_stack"] is not None:
            section["hbm"]["price_usd_per_stack"] = o["hbm_price_usd_per_stack"]
    return section


def _print_supply(res: dict[str, Any], wafers_per_month: float) -> None:
    t = Table(title=f"supply: {res['accelerator']} at {wafers_per_month:,.0f} wafer starts/month")
    for col in (
        "month",
        "die yield",
        "wafers out",
        "from wafers",
        "from packaging",
        "from HBM",
        "accelerators",
        "limited by",
    ):
        t.add_column(col, justify="right")
    for i, m in enumerate(res["month_labels"]):
        t.add_row(
            m,
            f"{res['die_yield_by_month'][i]:.3f}",
            f"{res['wafers_out_by_month'][i]:,.0f}",
            *(
                _num(res[k][i])
                for k in (
                    "units_from_wafers_by_month",
                    "units_from_packaging_by_month",
                    "units_from_hbm_by_month",
                    "accelerators_per_month",
                )
            ),
            res["limiting_step_by_month"][i],
        )
    out.print(t)
    out.print(
        f"gross dies/wafer {res['gross_dies_per_wafer']}, die yield {res['die_yield']:.3f}, good dies/wafer "
        f"{res['good_dies_per_wafer']:.1f}, cost per accelerator {_num(res['cost_per_accelerator_usd'])} USD "
        f"(wafer {_num(res['cost_breakdown_usd']['wafer'])}, packaging {_num(res['cost_breakdown_usd']['packaging'])}, "
        f"HBM {_num(res['cost_breakdown_usd']['hbm'])})",
        highlight=False,
    )


_KERNEL_HELP = (
    "Attention kernel of the MFU estimate: fa2 | fa3 (their published rates for the part) | flat (one share of peak) "
    "| auto (the newest published for the part)."
)


@app.command()
@handles_errors
def train(
    model: Annotated[str, typer.Option("--model", "-m", help="models catalog name, e.g. llama-3.1-405b.")],
    tokens: Annotated[float, typer.Option("--tokens", help="Training tokens, e.g. 15.6e12.")],
    accelerator: Annotated[str, typer.Option("--accelerator", "-a", help="Accelerator, e.g. H100.")],
    count: Annotated[int, typer.Option("--count", "-n", help="Number of accelerators.")],
    mfu: Annotated[float | None, typer.Option("--mfu", help="Model FLOPs utilisation; default: estimated.")] = None,
    seq_len: Annotated[
        int | None, typer.Option("--seq-len", help="Sequence length (default min(context, 8192)).")
    ] = None,
    tp: Annotated[int | None, typer.Option("--tp", help="Tensor parallel degree (default 8).")] = None,
    pp: Annotated[int | None, typer.Option("--pp", help="Pipeline parallel degree (default 1).")] = None,
    zero_stage: Annotated[
        int | None, typer.Option("--zero-stage", help="ZeRO stage 0-3 over data parallel (default 1).")
    ] = None,
    recompute: Annotated[
        str | None, typer.Option("--recompute", help="none | selective | full (default selective)")
    ] = None,
    virtual_stages: Annotated[
        int | None,
        typer.Option("--virtual-stages", help="Model chunks per device (interleaved pipeline; default 1 = 1F1B)."),
    ] = None,
    ep: Annotated[int | None, typer.Option("--ep", help="Expert-parallel degree of an MoE model (default 1).")] = None,
    cp: Annotated[
        int | None, typer.Option("--cp", help="Context-parallel degree: each sequence over cp ranks (default 1).")
    ] = None,
    precision: Annotated[
        str, typer.Option("--precision", help="bf16 | fp8 (peak rate used for MFU); any: --search compares both")
    ] = "bf16",
    attention_kernel: Annotated[str, typer.Option("--attention-kernel", help=_KERNEL_HELP)] = "auto",
    failure_rate: Annotated[
        float | None, typer.Option("--failure-rate", help="Interruptions per accelerator-hour.")
    ] = None,
    checkpoint_write_s: Annotated[float, typer.Option("--checkpoint-write-s", help="Checkpoint write time.")] = 60.0,
    restart_s: Annotated[float, typer.Option("--restart-s", help="Restart time after a failure.")] = 600.0,
    pue: Annotated[float | None, typer.Option("--pue", help="Facility PUE for energy.")] = None,
    usd_per_accelerator_hour: Annotated[float | None, typer.Option("--usd-per-accelerator-hour")] = None,
    search: Annotated[
        bool, typer.Option("--search", help="Search the fastest layout that fits; the layout options given stay fixed.")
    ] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Print the step time broken down.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Training time, interruptions, goodput, energy and cost of one run."""
    from fab2token.options import refuse
    from fab2token.workloads.training import train as _train

    given = dict(tp=tp, pp=pp, zero_stage=zero_stage, recompute=recompute, virtual_stages=virtual_stages, ep=ep, cp=cp)
    layout = {"tp": 8, "pp": 1, "zero_stage": 1, "recompute": "selective", "virtual_stages": 1, "ep": 1, "cp": 1}
    layout |= {k: v for k, v in given.items() if v is not None}
    found, recipe = None, "mixed-adam"
    if search:
        found = _search(model, accelerator, count, seq_len, precision, given, attention_kernel)
        layout = {k: found["layout"][k] for k in layout} | {"micro_batch": found["layout"]["micro_batch"]}
        precision, recipe = found["precision"], found["recipe"]
    elif precision == "any":
        refuse("train", "precision", precision, "bf16 or fp8 (any only with --search, which compares them)")
    res = _train(
        model,
        tokens,
        accelerator,
        count,
        mfu=mfu,
        seq_len=seq_len,
        precision=precision,
        recipe=recipe,
        attention_kernel=attention_kernel,
        failure_rate_per_accelerator_hour=failure_rate,
        checkpoint_write_s=checkpoint_write_s,
        restart_s=restart_s,
        pue=pue,
        usd_per_accelerator_hour=usd_per_accelerator_hour,
        **layout,
    ).to_dict()
    if found is not None:
        res["layout_search"] = found
    if as_json:
        _print_json(res)
        return
    _print_train(res, explain)


def _search(
    model: str,
    accelerator: str,
    count: int,
    seq_len: int | None,
    precision: str,
    given: dict[str, Any],
    attention_kernel: str = "auto",
) -> dict[str, Any]:
    """The layout search of ``train --search`` (both precisions compared under ``--precision any``); the kernel is
    checked first, as :func:`~fab2token.workloads.training.train` checks it."""
    from fab2token.options import check_options
    from fab2token.workloads.layout import search_any_precision, search_layout
    from fab2token.workloads.training import TRAIN_FLAGS, TRAIN_OPTIONS

    check_options("train", {"attention_kernel": attention_kernel}, TRAIN_OPTIONS, TRAIN_FLAGS)

    kw = {"seq_len": seq_len, "fixed": given, "attention_kernel": attention_kernel}
    if precision == "any":
        return search_any_precision(model, accelerator, count, **kw)
    return search_layout(model, accelerator, count, precision=precision, **kw)


def _print_train(res: dict[str, Any], explain: bool) -> None:
    shown = {
        k: v for k, v in res.items() if k not in ("memory_per_accelerator_gb", "step_breakdown_s", "layout_search")
    }
    out.print(_summary_table(shown, f"train {res['model']} on {res['count']:,.0f} x {res['accelerator']}"))
    mem = res["memory_per_accelerator_gb"]
    out.print(
        "memory per accelerator (GB): " + ", ".join(f"{k.removesuffix('_gb')} {v:.1f}" for k, v in mem.items()),
        highlight=False,
    )
    if res.get("layout_search"):
        f = res["layout_search"]
        lay = ", ".join(f"{k} {v}" for k, v in f["layout"].items())
        out.print(
            f"fastest layout that fits: {lay} ({f['layouts_fitting']:,} of {f['layouts_evaluated']:,} layouts fit; "
            f"searched in {f['search_s']:.2f} s)",
            highlight=False,
        )
    if explain:
        parts = res.get("step_breakdown_s")
        if not parts:
            out.print("step time: the MFU was given (--mfu), so there is no breakdown to show", highlight=False)
            return
        t = Table(title=f"one step: {res['step_s']:.3f} s")
        for col in ("part", "seconds", "share"):
            t.add_column(col, justify="left" if col == "part" else "right")
        for k, v in parts.items():
            t.add_row(k.removesuffix("_s").replace("_", " "), f"{v:.3f}", f"{v / res['step_s']:.1%}")
        out.print(t)


@app.command()
@handles_errors
def infer(
    model: Annotated[str, typer.Option("--model", "-m", help="models catalog name, e.g. llama-2-70b.")],
    accelerator: Annotated[str, typer.Option("--accelerator", "-a", help="Accelerator, e.g. H100.")],
    count: Annotated[int, typer.Option("--count", "-n", help="Number of accelerators.")] = 8,
    tp: Annotated[int | None, typer.Option("--tp", help="Tensor parallel degree (default: best).")] = None,
    ep: Annotated[
        int,
        typer.Option("--ep", help="MoE: attention groups whose experts are split over all TP x EP (default 1)."),
    ] = 1,
    disaggregate: Annotated[
        bool, typer.Option("--disaggregate", help="Prefill and decode on pools of their own, the fleet split between.")
    ] = False,
    batch: Annotated[
        int | None,
        typer.Option("--batch", help="Fixed sequences per replica (an engine's max_num_seqs); SLOs only checked."),
    ] = None,
    precision: Annotated[str, typer.Option("--precision", help="bf16 | fp8 | int8 | int4 weights")] = "bf16",
    kv_precision: Annotated[
        str | None, typer.Option("--kv-precision", help="KV cache precision (default: weights)")
    ] = None,
    tpot_ms: Annotated[float, typer.Option("--tpot-ms", help="Time-per-output-token SLO.")] = 50.0,
    ttft_ms: Annotated[float, typer.Option("--ttft-ms", help="Time-to-first-token SLO.")] = 2000.0,
    input_tokens: Annotated[int, typer.Option("--input-tokens", help="Prompt tokens per request.")] = 1024,
    output_tokens: Annotated[int, typer.Option("--output-tokens", help="Generated tokens per request.")] = 256,
    usd_per_accelerator_hour: Annotated[float | None, typer.Option("--usd-per-accelerator-hour")] = None,
    engine_efficiency: Annotated[
        float | None,
        typer.Option(
            "--engine-efficiency", help="Share of the roofline the engine achieves (default: catalog; 1 = roofline)."
        ),
    ] = None,
    pue: Annotated[float | None, typer.Option("--pue", help="Facility PUE (default: catalog pue_default).")] = None,
    power_frac: Annotated[
        float, typer.Option("--power-frac", help="Share of the all-in IT power drawn while serving (1: upper bound).")
    ] = 1.0,
    electricity_usd_per_mwh: Annotated[
        float | None, typer.Option("--electricity-usd-per-mwh", help="Electricity price, for the cost per hour.")
    ] = None,
    price_usd: Annotated[
        float | None, typer.Option("--price-usd", help="Accelerator price, for the cost per hour.")
    ] = None,
    useful_life_years: Annotated[
        float | None, typer.Option("--useful-life-years", help="Years the price is depreciated over.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Highest serving throughput that meets the latency SLOs, KV cache, joules per token and $ per million tokens."""
    from fab2token.workloads.inference import infer as _infer

    res = _infer(
        model,
        accelerator,
        count,
        tp=tp,
        ep=ep,
        disaggregate=disaggregate,
        batch=batch,
        precision=precision,
        kv_precision=kv_precision,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        tpot_ms=tpot_ms,
        ttft_ms=ttft_ms,
        usd_per_accelerator_hour=usd_per_accelerator_hour,
        engine_efficiency=engine_efficiency,
        pue=pue,
        power_frac=power_frac,
        electricity_usd_per_mwh=electricity_usd_per_mwh,
        price_usd=price_usd,
        useful_life_years=useful_life_years,
    ).to_dict()
    if as_json:
        _print_json(res)
        return
    out.print(_summary_table(res, f"serve {res['model']} on {res['count']} x {res['accelerator']}"))
