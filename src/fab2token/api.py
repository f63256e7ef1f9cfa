"""The Python API behind every CLI command: validate, simulate, store and report a scenario file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from . import report, store
from .scenario import Scenario, load_scenario
from .simulate import Summary, simulate, summarise

__all__ = ["RunResult", "run_file"]


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_file` produced."""

    run_id: str | None
    scenario: Scenario
    dataset: xr.Dataset
    summary: Summary
    report_path: Path | None


def run_file(
    path: str | Path, db: str | Path | None = store.DEFAULT_DB, report_path: str | Path | None = None
) -> RunResult:
    """Validate, simulate, store (when ``db`` is given) and report (when ``report_path`` is given) a scenario.

    Validation and simulation happen before anything is written, so a bad file leaves the store untouched.
    """
    sc, text = load_scenario(path)
    ds = simulate(sc)
    run_id = None
    if db is not None:
        run_id = store.save_run(db, ds, summarise(ds).to_dict(), text, str(path))
    summary = summarise(ds, run_id)
    written = report.write_report(report_path, ds, summary.to_dict()) if report_path else None
    return RunResult(run_id, sc, ds, summary, written)
