"""The planner and the fab line: plan, fabline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from fab2token.cli.common import (
    DbOpt,
    JsonOpt,
    _print_json,
    app,
    err,
    handles_errors,
    out,
)
from fab2token.io.outputs import Output, check_outputs, scenario_inputs, write_outputs  # light: os and paths only


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
    downs_per: Annotated[
        str, typer.Option("--downs-per", help="tool: each tool its own failure process | group: one per group.")
    ] = "tool",
    downs_wait: Annotated[
        bool, typer.Option("--downs-wait", help="A breakdown waits for the running job (default: it stops the job).")
    ] = False,
    replications: Annotated[
        int | None, typer.Option("--replications", help="Run seeds SEED.. SEED+N-1: mean and range per order.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Run the replications on a dask LocalCluster of N processes.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Run them on a running dask scheduler (tcp://HOST:PORT).")
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write an HTML report page here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Simulate a wafer fab line: cycle times, lots completed, throughput, utilisation, bottlenecks."""

    from fab2token.supply.fabline import check_run_options

    if replications is not None or workers is not None or scheduler is not None:
        if report is not None:
            from fab2token.options import refuse

            refuse("fabline", "report", str(report), "one run's page: leave out --replications, --workers, --scheduler")
        _replicated(
            folder,
            days,
            dispatch,
            seed,
            downs_per,
            warmup_days,
            replications or 1,
            workers,
            scheduler,
            as_json,
            not downs_wait,
        )
        return
    check_run_options(days, dispatch, downs_per, where="<command line>", prefix="--", warmup_days=warmup_days)
    check_outputs([(report, "--report")], [folder])
    res = _one_fab_run(folder, days, dispatch, seed, downs_per, not downs_wait, as_json)
    summary = res.summary(warmup_days)
    if report is not None:
        from fab2token.io.plan_report import write_fabline_report

        write_outputs([(report, "--report", lambda tmp: write_fabline_report(tmp, res, f"fab line: {folder}"))])
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


def _one_fab_run(
    folder: Path, days: float, dispatch: str, seed: int, downs_per: str, preempt: bool, as_json: bool
) -> Any:
    """One fab line run, with a progress bar on stderr unless the output is JSON."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from fab2token.supply.fabline import load_any, simulate_fab

    model = load_any(folder)
    if as_json:
        return simulate_fab(model, days=days, dispatch=dispatch, seed=seed, downs_per=downs_per, downs_preempt=preempt)
    with Progress(
        TextColumn("fabline"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} days"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("sim", total=days)
        return simulate_fab(
            model,
            days=days,
            dispatch=dispatch,
            seed=seed,
            downs_per=downs_per,
            downs_preempt=preempt,
            progress=lambda d: bar.update(task, completed=min(d, days)),
        )


def _replicated(
    folder: Path,
    days: float,
    dispatch: str,
    seed: int,
    downs_per: str,
    warmup_days: float,
    n: int,
    workers: int | None,
    scheduler: str | None,
    as_json: bool,
    preempt: bool = True,
) -> None:
    """``fabline --replications N``: the runs, and per order the mean and range over the seeds."""
    from fab2token.sweep.replicate import replicate_fab

    res = replicate_fab(folder, days, dispatch, n, seed, downs_per, warmup_days, workers, scheduler, preempt)
    if as_json:
        _print_json(res)
        return
    seeds = res["seeds"]
    t = Table(title=f"fabline {folder} — {days:g} days, {dispatch}, seeds {seeds[0]}-{seeds[-1]}: mean (range)")
    for col in ("order", "lots completed", "CT mean (d)", "on time"):
        t.add_column(col, justify="right")

    def spread(v: dict | None, fmt: str) -> str:
        return "" if v is None else f"{v['mean']:{fmt}} ({v['min']:{fmt}}-{v['max']:{fmt}})"

    for order, row in res["by_order"].items():
        t.add_row(
            order,
            spread(row["lots_completed"], ",.0f"),
            spread(row["cycle_time_days_mean"], ".1f"),
            spread(row["on_time_frac"], ".0%"),
        )
    out.print(t)


@app.command()
@handles_errors
def plan(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file with a targets: section.")],
    objective: Annotated[str, typer.Option("--objective", help="min-cost | max-compute")] = "min-cost",
    milp: Annotated[
        bool,
        typer.Option(
            "--milp",
            help="Integer decisions (MILP): halls in blocks of targets.hall_block_mw, and each training run on one "
            "type at a fixed whole count over unbroken months, as the simulator runs it (with --draws: the shared "
            "build in whole halls).",
        ),
    ] = False,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Solver time limit [s].")] = 60.0,
    report: Annotated[Path | None, typer.Option("--report", help="Write the plan report (HTML) here.")] = None,
    scenario_out: Annotated[
        Path | None,
        typer.Option(
            "--scenario-out", help="Write the planned build-out as a scenario file, to check with `fab2token run`."
        ),
    ] = None,
    solver_log: Annotated[Path | None, typer.Option("--solver-log", help="Write HiGHS's log to this file.")] = None,
    db: DbOpt = Path("fab2token.duckdb"),
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not keep the plan in the store.")] = False,
    draws: Annotated[
        int | None,
        typer.Option("--draws", help="Plan under uncertainty: N draws of the scenario's ranges (two-stage SAA)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="The draws' seed (with --draws).")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Cheapest build-out that meets the targets, and what each binding constraint is worth.

    With --draws N: one build for N draws of the scenario's uncertain inputs, each draw operated on its own, at the
    least expected cost; the probability each target is met, and the median scenario's plan facing the same draws.

    Exit status: 0 optimal or feasible (a plan), 2 infeasible (the hard limits contradict), 3 time limit without a
    plan, 1 unbounded or solver error; without a plan nothing is printed as one.
    """
    if draws is not None:
        given = {"--scenario-out": scenario_out, "--solver-log": solver_log}
        where = (report, None if no_store else db)
        _plan_under_uncertainty(scenario, (draws, seed, objective, time_limit, milp), given, where, as_json)
        return
    import yaml

    from fab2token.io import plan_store, store
    from fab2token.io.plan_report import write_plan_report
    from fab2token.plan import plan as _plan
    from fab2token.plan import plan_to_scenario_data
    from fab2token.scenario import load_scenario

    outputs = [(report, "--report"), (scenario_out, "--scenario-out"), (solver_log, "--solver-log")]
    check_outputs(outputs, [scenario, db])
    if not no_store:
        store.check_store(db)
    sc, text = load_scenario(scenario)
    check_outputs(outputs, [scenario, db, *scenario_inputs(sc)])
    res = _plan(
        sc,
        objective=objective,
        milp=milp,
        time_limit_s=time_limit,
        solver_log=None if solver_log is None else str(solver_log),
    )
    writes: list[Output] = []
    if report is not None:
        writes.append((report, "--report", lambda tmp: write_plan_report(tmp, sc, res)))
    if scenario_out is not None and res.series:
        text = yaml.safe_dump(plan_to_scenario_data(sc, res), sort_keys=False)
        writes.append((scenario_out, "--scenario-out", lambda tmp: tmp.write_text(text, encoding="utf-8")))
    elif scenario_out is not None:
        err.print(f"note: --scenario-out {scenario_out} not written: the plan has no build-out ({res.status})")
    write_outputs(writes)
    plan_id = None if no_store else plan_store.save_plan(db, res, text, sc.name, str(scenario))
    if as_json:
        _print_json(res.to_dict() | {"plan_id": plan_id})
    elif not res.series:  # no plan: its status and sentence, never a plan with $0
        err.print(Text.assemble(("no plan", "bold red"), f": {res.status_text}"))
    else:
        _print_plan(res)
    if plan_id is not None and not as_json:
        err.print(f"stored as plan {plan_id} in {db}", highlight=False)
    if res.exit_code:
        raise typer.Exit(res.exit_code)


def _print_plan(res: Any) -> None:
    gap = f", MIP gap {res.mip_gap:.2%}" if res.mip_gap is not None else ""
    out.print(
        Text.assemble(
            (str(res.status), "bold"),
            f": objective ${res.objective_usd:,.0f} ({res.variables:,} variables, {res.constraints:,} constraints; "
            f"build {res.build_s:.2f} s, solve {res.solve_s:.2f} s{gap})",
        )
    )
    if res.status != "optimal":
        out.print(res.status_text, highlight=False)
    for k, v in res.cost_breakdown_usd.items():
        out.print(f"  {k}: ${v:,.0f}", highlight=False)
    for row in res.unmet:
        out.print(Text.assemble(("unmet", "red"), f": {row['text']}"))
    for b in res.binding_if_short[:5]:
        out.print(f"- {b['text']}", highlight=False)
    for r in res.schedule.get("training", []):
        on = f" on up to {r['accelerators']:,.0f} {r['accelerator']}" if r.get("accelerator") else ""
        out.print(
            f"training {r['run']}: {r['start']} to {r['finish']}{on}, {r['done_frac']:.0%} of its FLOPs",
            highlight=False,
        )
    if not res.binding:
        return
    t = Table(title="what binds (top 10)")
    t.add_column("constraint")
    t.add_column("site or type")
    t.add_column("from")
    t.add_column("worth", justify="right")
    t.add_column("unit")
    for b in res.binding[:10]:
        t.add_row(b["constraint"], b["site"] or b.get("accelerator") or "", b["month"], f"{b['dual']:,.0f}", b["unit"])
    out.print(t)
    for b in res.binding[:5]:
        out.print(f"- {b['text']}", highlight=False)


def _plan_under_uncertainty(
    scenario: Path,
    how: tuple[int, int, str, float, bool],
    given: dict[str, Any],
    where: tuple[Path | None, Path | None],
    as_json: bool,
) -> None:
    """``plan --draws N``: the stochastic plan (:func:`fab2token.plan.stochastic.plan_draws`) of ``how`` = (draws,
    seed, objective, time limit, milp), printed, its report written and the plan stored per ``where`` = (report, store or
    None)."""
    from fab2token.io import plan_store, store
    from fab2token.io.plan_draws_report import write_stochastic_plan_report
    from fab2token.options import refuse
    from fab2token.plan.stochastic import PLAN_STATUS_EXIT, plan_draws
    from fab2token.scenario import load_scenario

    for flag, value in given.items():
        if value:
            refuse("plan", flag.lstrip("-"), value, f"no {flag} with --draws (the plan under uncertainty has none yet)")
    report, db = where
    outputs = [(report, "--report")]
    check_outputs(outputs, [scenario, *([db] if db else [])])
    if db is not None:
        store.check_store(db)
    sc, text = load_scenario(scenario)
    res = plan_draws(str(scenario), *how)
    if report is not None:
        write_outputs([(report, "--report", lambda tmp: write_stochastic_plan_report(tmp, sc.name, res))])
    plan_id = None if db is None else plan_store.save_plan(db, res, text, sc.name, str(scenario))
    if as_json:
        _print_json(res.to_dict() | {"plan_id": plan_id})
    else:
        _print_stochastic(res)
    if plan_id is not None and not as_json:
        err.print(f"stored as plan {plan_id} in {db}", highlight=False)
    code = PLAN_STATUS_EXIT.get(res.status, 1)
    if code:
        raise typer.Exit(code)


def _print_stochastic(res: Any) -> None:
    if res.status not in ("optimal", "feasible"):
        err.print(Text.assemble(("no plan", "bold red"), f": {res.status} over {res.draws} draws"))
        return
    out.print(
        Text.assemble(
            (res.status, "bold"),
            f": one build for {res.draws} draws (seed {res.seed}), expected cost ${res.expected_cost_usd:,.0f} "
            f"(P10 ${res.cost_usd_p10:,.0f}, P50 ${res.cost_usd_p50:,.0f}, P90 ${res.cost_usd_p90:,.0f}; "
            f"{res.variables:,} variables, {res.constraints:,} constraints, solve {res.solve_s:.2f} s)",
        )
    )
    if res.expected_shortfall:
        out.print(f"  expected shortfall: {res.expected_shortfall:.4g} {res.shortfall_unit}", highlight=False)
    det = res.deterministic
    t = Table(title="probability each target is met")
    t.add_column("target")
    t.add_column("this plan", justify="right")
    t.add_column("median scenario's plan", justify="right")
    theirs = {r["target"]: r["probability_met"] for r in det.get("targets_met", [])}
    for r in res.targets_met:
        other = theirs.get(r["target"])
        t.add_row(r["target"], f"{r['probability_met']:.0%}", "" if other is None else f"{other:.0%}")
    out.print(t)
    if det.get("expected_cost_usd") is not None:
        out.print(
            f"median scenario's build facing the draws: expected cost ${det['expected_cost_usd']:,.0f}, expected "
            f"shortfall {det['expected_shortfall']:.4g} {res.shortfall_unit}",
            highlight=False,
        )
    if res.regret_usd is not None:
        out.print(f"regret of planning on the median: ${res.regret_usd:,.0f}", highlight=False)
    t = Table(title="build (IT MW, shared by every draw)")
    for col in ("site", "month", "IT MW"):
        t.add_column(col, justify="right" if col == "IT MW" else "left")
    for row in res.build:
        t.add_row(row["site"], row["month"], f"{row['it_mw']:,.1f}")
    out.print(t)
    if res.binding:
        out.print(
            Text.assemble(("what binds, in expectation over the draws", "bold"), " (one more unit in every draw)")
        )
    for b in res.binding[:10]:
        out.print("  " + b["text"], highlight=False)
