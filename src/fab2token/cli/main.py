"""The ``fab2token`` command: a thin shell that parses, calls the Python API and prints."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from fab2token import catalog as _catalog
from fab2token.api import run_file
from fab2token.errors import Fab2TokenError, ScenarioError
from fab2token.io import store
from fab2token.scenario import load_scenario

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Plan and simulate AI compute infrastructure from wafer to token."
)
catalog_app = typer.Typer(no_args_is_help=True, help="Print the shipped catalog tables (every row has a source).")
app.add_typer(catalog_app, name="catalog")

# piped output (files, CI logs) gets a wide page rather than rich's 80-column default
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON (stable keys, see README).")]
DbOpt = Annotated[Path, typer.Option("--db", help="DuckDB results store.")]


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(_clean(obj), indent=2) + "\n")


def handles_errors(fn: F) -> F:
    """Turn fab2token's own errors into a clear message on stderr and exit status 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ScenarioError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from None
        except Fab2TokenError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _fmt_float(v: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    if abs(v) >= 1e9:
        return f"{v:.4g}"
    if abs(v) >= 100 or v == int(v):
        return f"{v:,.1f}"
    return f"{v:.4g}"


def _summary_table(summary: dict[str, Any], title: str) -> Table:
    t = Table(title=title, show_header=False)
    for k, v in summary.items():
        if k == "binding_constraint_by_month":
            runs: list[str] = []
            labels = summary.get("month_labels", [])
            for i, b in enumerate(v):
                if i == 0 or v[i - 1] != b:
                    runs.append(f"{labels[i] if i < len(labels) else i}: {b}")
            t.add_row(k, ", ".join(runs))
        elif k == "month_labels":
            t.add_row("period", f"{v[0]} .. {v[-1]}" if v else "")
        elif isinstance(v, float):
            t.add_row(k, _fmt_float(v))
        else:
            t.add_row(k, str(v))
    return t


@app.command()
@handles_errors
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    db: DbOpt = Path(store.DEFAULT_DB),
    report: Annotated[
        Path | None, typer.Option("--report", help="HTML report path (default: report-RUNID.html).")
    ] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write the HTML report.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate, simulate, store and report a scenario."""
    result = run_file(scenario, db, None)
    summary = result.summary.to_dict()
    path = None
    if not no_report:
        from fab2token.io.report import write_report

        path = write_report(report or Path(f"report-{result.run_id}.html"), result.dataset, summary)
    if as_json:
        _print_json(summary | {"report": str(path) if path else None, "db": str(db)})
        return
    out.print(_summary_table(summary, f"run {result.run_id} — {result.scenario.name}"))
    out.print(
        f"stored in [bold]{db}[/] as run [bold]{result.run_id}[/]" + (f"; report: [bold]{path}[/]" if path else "")
    )


@app.command()
@handles_errors
def validate(scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")]) -> None:
    """Check a scenario file: exit 0 and one OK line, or exit 2 listing every problem."""
    sc, _ = load_scenario(scenario)
    out.print(
        f"OK: {scenario} ({sc.name}: {sc.horizon.months} months from {sc.horizon.start}, "
        f"{len(sc.sites)} site{'s' if len(sc.sites) != 1 else ''}, {sc.accelerator_spec()['name']})",
        highlight=False,
    )


@app.command()
@handles_errors
def runs(db: DbOpt = Path(store.DEFAULT_DB), as_json: JsonOpt = False) -> None:
    """List stored runs, newest first."""
    rows = store.list_runs(db)
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"runs in {db}")
    for col in ("run_id", "created_at", "scenario", "months", "accelerators_installed_end", "capex_usd_total"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            *(
                f"{r[c]:,.0f}" if isinstance(r[c], float) else str(r[c])
                for c in ("run_id", "created_at", "scenario", "months", "accelerators_installed_end", "capex_usd_total")
            )
        )
    out.print(t)


@app.command()
@handles_errors
def show(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    db: DbOpt = Path(store.DEFAULT_DB),
    as_json: JsonOpt = False,
) -> None:
    """Print one stored run's summary."""
    meta = store.load_run(db, run_id)
    if as_json:
        _print_json(meta["summary"] | {"created_at": meta["created_at"], "file": meta["file"]})
        return
    out.print(_summary_table(meta["summary"], f"run {meta['run_id']} — {meta['scenario']} ({meta['created_at']})"))


@app.command()
@handles_errors
def fabline(
    folder: Annotated[
        Path, typer.Argument(help="Fab folder in the SMT2020 / AutoSched AP text format, or a fab2token YAML fab file.")
    ],
    days: Annotated[float, typer.Option("--days", help="Simulated days.")] = 730.0,
    dispatch: Annotated[str, typer.Option("--dispatch", help="fifo | edd | spt | cr")] = "fifo",
    seed: Annotated[int, typer.Option("--seed", help="Random seed (results are reproducible).")] = 1,
    warmup_days: Annotated[
        float, typer.Option("--warmup-days", help="Leave lots released earlier out of the cycle-time statistics.")
    ] = 0.0,
    report: Annotated[Path | None, typer.Option("--report", help="Write an HTML report page here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Simulate a wafer fab line: cycle times, lots completed, throughput, utilisation, bottlenecks."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from fab2token.supply.fabline import check_run_options, load_any, simulate_fab

    check_run_options(days, dispatch, where="<command line>", prefix="--")
    model = load_any(folder)
    if as_json:
        res = simulate_fab(model, days=days, dispatch=dispatch, seed=seed)
    else:
        with Progress(
            TextColumn("fabline"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} days"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("sim", total=days)
            res = simulate_fab(
                model,
                days=days,
                dispatch=dispatch,
                seed=seed,
                progress=lambda d: bar.update(task, completed=min(d, days)),
            )
    summary = res.summary(warmup_days)
    if report is not None:
        from fab2token.io.report import write_fabline_report

        write_fabline_report(report, res, f"fab line: {folder}")
    if as_json:
        summary.pop("utilisation_by_family")
        _print_json(summary)
        return
    t = Table(title=f"fabline {folder} — {days:g} days, {dispatch}, seed {seed}")
    for col in ("order", "lots completed", "CT mean (d)", "CT p50", "CT p95"):
        t.add_column(col, justify="right")
    for order, n in summary["lots_completed"].items():
        ct = summary["cycle_time_days"].get(order)
        t.add_row(order, f"{n:,}", *(f"{ct[k]:.1f}" if ct else "" for k in ("mean", "p50", "p95")))
    out.print(t)
    out.print(
        f"throughput {summary['throughput_wafers_per_day']:,.0f} wafers/day; on time "
        f"{summary['on_time_frac']:.1%}; {summary['events_processed']:,} events in {summary['wall_s']:.1f} s "
        f"({summary['events_processed'] / max(summary['wall_s'], 1e-9):,.0f} events/s)",
        highlight=False,
    )
    out.print("bottlenecks: " + ", ".join(f"{b['family']} {b['utilisation']:.0%}" for b in summary["bottlenecks"][:5]))


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

    fab: dict[str, Any] = {
        "wafer_starts": [{"from": start, "wafers_per_month": wafers_per_month}],
        "yield_model": yield_model,
        "cycle_time_months": cycle_time_months,
    }
    for key, val in (
        ("d0_per_cm2", d0),
        ("d0_launch_per_cm2", d0_launch),
        ("d0_ramp_months", d0_ramp_months),
        ("wafer_price_usd", wafer_price_usd),
    ):
        if val is not None:
            fab[key] = val
    section: dict[str, Any] = {"accelerator": accelerator, "fab": fab}
    if packaging_wafers_per_month is not None:
        section["packaging"] = {
            "capacity_wafers_per_month": [{"from": start, "wafers_per_month": packaging_wafers_per_month}],
            "yield_frac": packaging_yield,
        }
        if interposer_area_mm2 is not None:
            section["packaging"]["interposer_area_mm2"] = interposer_area_mm2
        if packaging_cost_usd_per_wafer is not None:
            section["packaging"]["cost_usd_per_wafer"] = packaging_cost_usd_per_wafer
    if hbm_stacks_per_month is not None or hbm_price_usd_per_stack is not None:
        section["hbm"] = {}
        if hbm_stacks_per_month is not None:
            section["hbm"]["supply_stacks_per_month"] = [{"from": start, "stacks_per_month": hbm_stacks_per_month}]
        if hbm_price_usd_per_stack is not None:
            section["hbm"]["price_usd_per_stack"] = hbm_price_usd_per_stack
    overrides = {"accelerators": {accelerator: {"compute_die_area_mm2": die_area_mm2}}} if die_area_mm2 else None
    res = supply_lookup(section, months=months, start=start, overrides=overrides)
    if as_json:
        _print_json(res)
        return
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
    tp: Annotated[int, typer.Option("--tp", help="Tensor parallel degree.")] = 8,
    pp: Annotated[int, typer.Option("--pp", help="Pipeline parallel degree.")] = 1,
    zero_stage: Annotated[int, typer.Option("--zero-stage", help="ZeRO stage 0-3 over data parallel.")] = 1,
    recompute: Annotated[str, typer.Option("--recompute", help="none | selective | full")] = "selective",
    virtual_stages: Annotated[
        int, typer.Option("--virtual-stages", help="Model chunks per device (interleaved pipeline; 1 = plain 1F1B).")
    ] = 1,
    precision: Annotated[str, typer.Option("--precision", help="bf16 | fp8 (peak rate used for MFU)")] = "bf16",
    failure_rate: Annotated[
        float | None, typer.Option("--failure-rate", help="Interruptions per accelerator-hour.")
    ] = None,
    checkpoint_write_s: Annotated[float, typer.Option("--checkpoint-write-s", help="Checkpoint write time.")] = 60.0,
    restart_s: Annotated[float, typer.Option("--restart-s", help="Restart time after a failure.")] = 600.0,
    pue: Annotated[float | None, typer.Option("--pue", help="Facility PUE for energy.")] = None,
    usd_per_accelerator_hour: Annotated[float | None, typer.Option("--usd-per-accelerator-hour")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Training time, interruptions, goodput, energy and cost of one run."""
    from fab2token.workloads.training import train as _train

    res = _train(
        model,
        tokens,
        accelerator,
        count,
        mfu=mfu,
        seq_len=seq_len,
        tp=tp,
        pp=pp,
        zero_stage=zero_stage,
        recompute=recompute,
        virtual_stages=virtual_stages,
        precision=precision,
        failure_rate_per_accelerator_hour=failure_rate,
        checkpoint_write_s=checkpoint_write_s,
        restart_s=restart_s,
        pue=pue,
        usd_per_accelerator_hour=usd_per_accelerator_hour,
    ).to_dict()
    if as_json:
        _print_json(res)
        return
    out.print(
        _summary_table(
            {k: v for k, v in res.items() if k != "memory_per_accelerator_gb"},
            f"train {res['model']} on {res['count']:,.0f} x {res['accelerator']}",
        )
    )
    mem = res["memory_per_accelerator_gb"]
    out.print(
        "memory per accelerator (GB): " + ", ".join(f"{k.removesuffix('_gb')} {v:.1f}" for k, v in mem.items()),
        highlight=False,
    )


@app.command()
@handles_errors
def infer(
    model: Annotated[str, typer.Option("--model", "-m", help="models catalog name, e.g. llama-2-70b.")],
    accelerator: Annotated[str, typer.Option("--accelerator", "-a", help="Accelerator, e.g. H100.")],
    count: Annotated[int, typer.Option("--count", "-n", help="Number of accelerators.")] = 8,
    tp: Annotated[int | None, typer.Option("--tp", help="Tensor parallel degree (default: best).")] = None,
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
    as_json: JsonOpt = False,
) -> None:
    """Highest serving throughput that meets the latency SLOs, KV cache and $ per million tokens."""
    from fab2token.workloads.inference import infer as _infer

    res = _infer(
        model,
        accelerator,
        count,
        tp=tp,
        precision=precision,
        kv_precision=kv_precision,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        tpot_ms=tpot_ms,
        ttft_ms=ttft_ms,
        usd_per_accelerator_hour=usd_per_accelerator_hour,
        engine_efficiency=engine_efficiency,
    ).to_dict()
    if as_json:
        _print_json(res)
        return
    out.print(_summary_table(res, f"serve {res['model']} on {res['count']} x {res['accelerator']}"))


@app.command()
@handles_errors
def plan(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file with a targets: section.")],
    objective: Annotated[str, typer.Option("--objective", help="min-cost | max-compute")] = "min-cost",
    milp: Annotated[
        bool, typer.Option("--milp", help="Build halls in blocks of targets.hall_block_mw (MILP).")
    ] = False,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Solver time limit [s].")] = 60.0,
    report: Annotated[Path | None, typer.Option("--report", help="Write the plan report (HTML) here.")] = None,
    scenario_out: Annotated[
        Path | None,
        typer.Option(
            "--scenario-out", help="Write the planned build-out as a scenario file, to check with `fab2token run`."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Cheapest build-out that meets the targets, and what each binding constraint is worth."""
    import yaml

    from fab2token.plan import plan as _plan
    from fab2token.plan import plan_to_scenario_data

    sc, _ = load_scenario(scenario)
    res = _plan(sc, objective=objective, milp=milp, time_limit_s=time_limit)
    if report is not None:
        from fab2token.io.report import write_plan_report

        write_plan_report(report, sc, res)
    if scenario_out is not None and res.series:
        scenario_out.write_text(yaml.safe_dump(plan_to_scenario_data(sc, res), sort_keys=False))
    if as_json:
        _print_json(res.to_dict())
        return
    out.print(
        f"[bold]{res.status}[/]: objective ${res.objective_usd:,.0f} "
        f"({res.variables:,} variables, {res.constraints:,} constraints; build {res.build_s:.2f} s, "
        f"solve {res.solve_s:.2f} s)"
    )
    for k, v in res.cost_breakdown_usd.items():
        out.print(f"  {k}: ${v:,.0f}", highlight=False)
    for row in res.unmet:
        out.print(f"[red]unmet[/]: {row['text']}")
    t = Table(title="what binds (top 10)")
    t.add_column("constraint")
    t.add_column("site")
    t.add_column("from")
    t.add_column("worth", justify="right")
    t.add_column("unit")
    for b in res.binding[:10]:
        t.add_row(b["constraint"], b["site"] or "", b["month"], f"{b['dual']:,.0f}", b["unit"])
    out.print(t)
    for b in res.binding[:5]:
        out.print(f"- {b['text']}", highlight=False)


def _num(v: float) -> str:
    if not math.isfinite(v):
        return "unlimited" if v == math.inf else "n/a"
    return f"{v:,.0f}"


@catalog_app.command("accelerators")
@handles_errors
def catalog_accelerators(as_json: JsonOpt = False) -> None:
    """The accelerator catalog."""
    _print_table("accelerators", as_json)


@catalog_app.command("process-nodes")
@handles_errors
def catalog_process_nodes(as_json: JsonOpt = False) -> None:
    """Process nodes: defect density, wafer price, reticle limit."""
    _print_table("process_nodes", as_json)


@catalog_app.command("models")
@handles_errors
def catalog_models(as_json: JsonOpt = False) -> None:
    """Model architectures (dense and MoE) with their sources."""
    _print_table("models", as_json)


@catalog_app.command("cooling")
@handles_errors
def catalog_cooling(as_json: JsonOpt = False) -> None:
    """Cooling kinds and their rack-density limits where published."""
    _print_table("cooling", as_json)


@catalog_app.command("overheads")
@handles_errors
def catalog_overheads(as_json: JsonOpt = False) -> None:
    """Power overhead factors used for all-in power per accelerator."""
    _print_table("overheads", as_json)


@catalog_app.command("optics")
@handles_errors
def catalog_optics(as_json: JsonOpt = False) -> None:
    """Scale-out transceivers: rate, ports, power (NVIDIA datasheets); prices are left for the scenario."""
    _print_table("optics", as_json)


@catalog_app.command("climate")
@handles_errors
def catalog_climate(
    region: Annotated[str | None, typer.Option("--region", help="One region: its twelve months.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Climate regions (monthly dry bulb, daily range, dew point, 10 % design dry bulb) with their sources."""
    from fab2token.errors import InputIssue
    from fab2token.sites.climate import climate_regions, region_normals

    names = climate_regions()
    if region is not None and region not in names:
        raise ScenarioError([InputIssue("--region", "--region", region, f"one of: {', '.join(names)}")])
    chosen = [region] if region else names
    res = []
    for name in chosen:
        n = region_normals(name)
        res.append(
            {
                "region": name,
                "station": n.station,
                "dry_bulb_mean_c": n.mean_c.tolist(),
                "daily_range_c": n.range_c.tolist(),
                "dew_point_mean_c": n.dew_point_c.tolist(),
                "dry_bulb_10pct_c": [None if math.isnan(x) else x for x in n.db10_c],
                "day_to_day_sd_c": [round(float(x), 3) for x in n.sigma_c],
                "source": n.source,
            }
        )
    if as_json:
        _print_json(res if region is None else res[0])
        return
    if region is None:
        t = Table(title="climate regions (months and sources: --region NAME, or --json)")
        for col in ("region", "station", "annual mean °C", "hottest month °C", "range kind"):
            t.add_column(col)
        for r, name in zip(res, chosen, strict=True):
            t.add_row(
                name,
                r["station"],
                f"{np.mean(r['dry_bulb_mean_c']):.1f}",
                f"{max(r['dry_bulb_mean_c']):.1f}",
                region_normals(name).range_kind,
            )
        out.print(t)
        return
    r = res[0]
    t = Table(title=f"{region}: {r['station']}")
    t.add_column("field", no_wrap=True)
    for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"):
        t.add_column(m, justify="right")
    for key in ("dry_bulb_mean_c", "daily_range_c", "dew_point_mean_c", "dry_bulb_10pct_c", "day_to_day_sd_c"):
        t.add_row(key, *("" if v is None else f"{v:.1f}" for v in r[key]))
    out.print(t)
    out.print(f"source: {r['source']}", highlight=False)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _print_table(table: str, as_json: bool) -> None:
    rows = _catalog.table_rows(table)
    if as_json:
        _print_json(rows)
        return
    key = _catalog.TABLES[table]
    cols = [c for c in rows[0] if c not in ("source", "notes", "aliases", key)]
    t = Table(title=f"catalog: {table} (sources and notes: --json)")
    t.add_column("field", no_wrap=True)
    for r in rows:
        t.add_column(str(r[key]), justify="right")
    for c in cols:
        t.add_row(c, *(_cell(r[c]) for r in rows))
    out.print(t)


if __name__ == "__main__":  # pragma: no cover
    app()
