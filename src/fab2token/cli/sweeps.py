"""Commands on sweeps: ``sweep`` runs (or resumes) one and prints its ranges, ``sweeps`` lists the stored ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from fab2token.cli.common import DbOpt, JsonOpt, _print_json, app, err, handles_errors, out
from fab2token.cli.runs import DEFAULT_DB

# with stderr not a terminal (a pipe, a log, a test), one line per stored chunk instead of a progress bar
_CHUNK_LINE = "sweep: {done}/{total} draws stored"


def _progress_runner(as_json: bool) -> Any:
    """A context that yields the ``on_chunk`` callback: a bar with draws/s on a terminal, lines otherwise."""
    import contextlib
    import time

    @contextlib.contextmanager
    def runner() -> Any:
        if err.is_terminal and not as_json:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            t0 = time.perf_counter()
            cols = (TextColumn("sweep"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} draws"))
            speed = TextColumn("{task.fields[rate]}")
            with Progress(*cols, speed, TimeElapsedColumn(), console=err, transient=True) as bar:
                task = bar.add_task("draws", total=None, rate="")

                def tick(done: int, total: int) -> None:
                    rate = done / max(time.perf_counter() - t0, 1e-9)
                    bar.update(task, completed=done, total=total, rate=f"{rate:,.0f} draws/s")

                yield tick
        else:
            yield lambda done, total: err.print(_CHUNK_LINE.format(done=done, total=total))

    return runner()


def _fmt(row: dict[str, Any], key: str, months: list[str]) -> str:
    v = row.get(key)
    if row["outcome"].endswith(".finish_month"):
        if v is None:
            return "not by " + months[-1] if key != "mean" else "-"
        return months[min(int(round(v)), len(months)) - 1]
    return "-" if v is None else f"{v:,.4g}"


@app.command()
@handles_errors
def sweep(
    scenario: Annotated[Path | None, typer.Argument(help="Scenario YAML file with distributions.")] = None,
    draws: Annotated[int, typer.Option("--draws", help="Draws (with --sobol: base draws, a power of two).")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same draws.")] = 0,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Run on a dask LocalCluster of this many processes.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Run on a running dask scheduler (tcp://HOST:PORT).")
    ] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="Go on with a stored sweep (its id).")] = None,
    chunk_draws: Annotated[
        int | None,
        typer.Option(
            "--chunk-draws", help="Draws per stored chunk (default: about a second of work, 50 to 2,000 draws)."
        ),
    ] = None,
    sobol: Annotated[bool, typer.Option("--sobol", help="Saltelli's design: Sobol indices of the drivers.")] = False,
    outcome: Annotated[str | None, typer.Option("--outcome", help="Rank the drivers of this outcome.")] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the sweep's page (fan charts, histograms) here.")
    ] = None,
    db: DbOpt = Path(DEFAULT_DB),
    as_json: JsonOpt = False,
) -> None:
    """Draw a scenario's uncertain inputs, run every draw, store it, print P10/P50/P90 and what drives the spread.

    Each chunk of draws is stored as it finishes; `--resume ID` after an interruption computes only what is missing.
    """
    from fab2token.io.outputs import check_output
    from fab2token.sweep.execute import run_sweep
    from fab2token.sweep.summary import summarise_sweep

    method = "sobol" if sobol else "random"
    if report is not None:
        check_output(report, "--report", [scenario, db])
    if outcome is not None:
        _check_outcome(scenario, db, resume, outcome)
    with _progress_runner(as_json) as tick:
        done = run_sweep(scenario, db, draws, seed, chunk_draws, workers, scheduler, resume, method, on_chunk=tick)
    summary = summarise_sweep(db, done.sweep_id, outcome)
    if report is not None:
        _write_report(report, db, done.sweep_id, summary)
    if as_json:
        _print_json(summary | {"db": str(db), "report": str(report) if report else None})
        return
    _print_sweep(summary)
    out.print(
        Text.assemble(
            "stored in ",
            (str(db), "bold"),
            " as sweep ",
            (done.sweep_id, "bold"),
            f" ({done.chunks_computed} chunks computed now, {done.chunks_stored_before} found stored)",
        )
    )


def _check_outcome(scenario: Path | None, db: Path, resume: str | None, outcome: str) -> None:
    """An --outcome the sweep will not have is refused before anything is drawn."""
    from fab2token.scenario import load_scenario, parse_scenario
    from fab2token.sweep.summary import check_outcome

    if resume:
        from fab2token.io.sweep_store import load_sweep

        meta = load_sweep(db, resume)
        sc = parse_scenario(meta["scenario_text"], meta["file"])
    elif scenario is not None:
        sc = load_scenario(scenario)[0]
    else:
        return  # run_sweep refuses a missing scenario with its own message
    check_outcome(sc, outcome)


def _write_report(report: Path, db: Path, sweep_id: str, summary: dict[str, Any]) -> None:
    """The sweep's page, written atomically; the stored sweep is kept whatever happens to the page."""
    from fab2token.errors import Fab2TokenError, OutputError
    from fab2token.io.outputs import write_outputs
    from fab2token.io.sweep_report import write_sweep_report
    from fab2token.io.sweep_store import load_sweep_arrays

    arrays = load_sweep_arrays(db, sweep_id)
    try:
        write_outputs([(report, "--report", lambda tmp: write_sweep_report(tmp, summary, arrays))])
    except Fab2TokenError as exc:
        raise OutputError(
            f"{exc}; sweep {sweep_id} is stored in {db} (`fab2token sweep --resume {sweep_id} --report PATH` "
            "writes the page without computing anything)"
        ) from None


def _print_sweep(s: dict[str, Any]) -> None:
    months = s["month_labels"]
    t = Table(title=f"sweep {s['sweep_id']} — {s['scenario']}: {s['draws']} draws ({s['method']}, seed {s['seed']})")
    for col in ("outcome", "unit", "mean", "P10", "P50", "P90"):
        t.add_column(col, justify="left" if col in ("outcome", "unit") else "right")
    for r in s["outcomes"]:
        unit = "month" if r["outcome"].endswith(".finish_month") else r["unit"]
        t.add_row(r["outcome"], unit, *(_fmt(r, k, months) for k in ("mean", "p10", "p50", "p90")))
    out.print(t)
    d = s["drivers"]
    t = Table(title=f"what drives {d['outcome']}")
    t.add_column("input")
    t.add_column("rank correlation", justify="right")
    sobol = {r["input"]: r for r in d["sobol"] or []}
    if sobol:
        t.add_column("Sobol S1", justify="right")
        t.add_column("Sobol ST", justify="right")
    for r in d["rank_correlations"]:
        rho = r["rank_correlation"]
        cells = ["-" if rho is None else f"{rho:+.2f} " + "█" * round(abs(rho) * 20)]
        if sobol:
            sr = sobol[r["input"]]
            cells += ["-" if sr[k] is None else f"{sr[k]:.2f} ± {sr[k + '_conf']:.2f}" for k in ("S1", "ST")]
        t.add_row(r["input"], *cells)
    out.print(t)


@app.command()
@handles_errors
def sweeps(db: DbOpt = Path(DEFAULT_DB), as_json: JsonOpt = False) -> None:
    """List stored sweeps, newest first (an interrupted one shows status running: `sweep --resume ID`)."""
    from fab2token.io import sweep_store

    rows = sweep_store.list_sweeps(db)
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"sweeps in {db}")
    for col in ("sweep_id", "created_at", "scenario", "draws_stored", "draws", "seed", "method", "status"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            *(
                str(r[k])
                for k in ("sweep_id", "created_at", "scenario", "draws_stored", "draws", "seed", "method", "status")
            )
        )
    out.print(t)
