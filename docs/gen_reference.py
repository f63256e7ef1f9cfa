"""Generate the reference pages from the code itself (run by mkdocs-gen-files during ``make docs``), so they cannot
drift: every scenario field from the pydantic models, every catalog table from its CSV, every CLI command and
option from Typer, every result variable with its units from a simulation of the bundled example, the ``--json``
keys from the code that produces them, and the store's tables and columns from DuckDB itself."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import types
import typing
from pathlib import Path
from typing import Any

import mkdocs_gen_files
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]


def _cell(v: Any) -> str:
    text = "" if v is None else str(v)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (``X``, ``list[X]``, ``X | None``, ``Annotated[X, ...]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return str(annotation).replace("typing.", "")


def _unit(info: Any) -> str:
    """The unit a field converts its value to, from the BeforeValidator of fab2token.scenario.fields."""
    for meta in info.metadata:
        func = getattr(meta, "func", None)
        cell = getattr(func, "__closure__", None) or ()
        for c in cell:
            if isinstance(c.cell_contents, str):
                return c.cell_contents
    return ""


def _limits(info: Any) -> str:
    parts = []
    for meta in info.metadata:
        for name, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("min_length", "length >=")):
            if getattr(meta, name, None) is not None:
                parts.append(f"{sign} {getattr(meta, name)}")
    return ", ".join(parts)


def _scenario_rows(model: type[BaseModel], prefix: str, seen: set[tuple[str, str]]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        path = f"{prefix}.{key}" if prefix else key
        nested = _models_in(info.annotation)
        default = "required" if info.is_required() else repr(info.get_default(call_default_factory=True))
        doc = info.description or ""
        if not doc and nested:
            doc = (nested[0].__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        rows.append([f"`{path}`", _type_name(info.annotation), _unit(info), _limits(info), default, doc])
        for sub in nested:
            if (path, sub.__name__) not in seen:
                seen.add((path, sub.__name__))
                rows += _scenario_rows(sub, path + ("[]" if "list" in _type_name(info.annotation) else ""), seen)
    return rows


def scenario_page() -> str:
    from fab2token.scenario.fields import describe_models
    from fab2token.scenario.models import Scenario

    describe_models()
    rows = _scenario_rows(Scenario, "", set())
    return (
        "# Scenario fields\n\nGenerated from the pydantic models (`fab2token.scenario`). A unit means the field "
        "accepts a quantity with units (e.g. `11 MUSD/MW`) and converts it to that unit; a bare number is read in "
        "it. `[]` marks a list.\n\n" + _table(["path", "type", "unit", "limits", "default", "description"], rows)
    )


def race_page() -> str:
    from fab2token.scenario.fields import describe_models
    from fab2token.scenario.race import Race

    describe_models()
    rows = _scenario_rows(Race, "", set())
    return (
        "# Race file fields\n\nGenerated from the pydantic models (`fab2token.scenario.race`) of a `fab2token race` "
        "file ([a race](../how-to/race.md)). Each player's `scenario` is a scenario file's content "
        "([scenario fields](scenario.md)) without its horizon. `[]` marks a list.\n\n"
        + _table(["path", "type", "unit", "limits", "default", "description"], rows)
    )


def catalog_page() -> str:
    from fab2token import catalog

    out = [
        "# Catalog tables\n\nGenerated from the CSV files shipped in `fab2token/catalog/`; every row carries "
        "its source. Empty cells are unpublished: supply them under `catalog:` in a scenario.\n"
    ]
    for table, key in catalog.TABLES.items():
        rows = catalog.table_rows(table)
        cols = [c for c in rows[0] if c not in ("source", "notes")]
        out.append(f"## {table}\n")
        out.append(_table(cols, [[r[c] for c in cols] for r in rows]))
        out.append("\n**Sources**\n")
        out += [
            f"- **{r[key]}**: {_cell(r.get('source'))}" + (f" — {_cell(r['notes'])}" if r.get("notes") else "")
            for r in rows
        ]
        out.append("")
    long_tables = (
        (
            "world",
            "The world's shared capacities for `fab2token race` (several rows per key, one per step).",
            lambda r: f"{r['resource']} {r['key']} from {r['from']}",
        ),
        (
            "prices",
            "Purchase prices (published estimates) and public cloud on-demand rates, for `fab2token infer`.",
            lambda r: f"{r['accelerator']} {r['kind']} {r['offering']} ({r['date']})",
        ),
    )
    for table, text, label in long_tables:
        rows = catalog.table_rows(table)
        cols = [c for c in rows[0] if c not in ("source", "notes")]
        out.append(f"## {table}\n\n{text}\n")
        out.append(_table(cols, [[r[c] for c in cols] for r in rows]))
        out.append("\n**Sources**\n")
        out += [f"- **{label(r)}**: {_cell(r['source'])} — {_cell(r['notes'])}" for r in rows]
    return "\n".join(out) + "\n"


def _param_type(p: Any) -> str:
    """A command parameter's type, from click's ``type`` or typer's own ``type_descriptor``."""
    if getattr(p, "type", None) is not None:
        return p.type.name
    annotation = p.type_descriptor.annotation
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def cli_page() -> str:
    import typer

    from fab2token.cli.main import app

    group = typer.main.get_command(app)
    out = ["# Command line\n\nGenerated from the Typer application (`fab2token.cli`).\n"]

    # typer may bring its own copy of click (typer._click), so commands are recognised by what they have
    def walk(cmd: Any, name: str) -> None:
        if hasattr(cmd, "commands"):
            for sub_name, sub in sorted(cmd.commands.items()):
                walk(sub, f"{name} {sub_name}")
            return
        out.append(f"## `{name}`\n\n{(cmd.help or '').strip()}\n")
        rows = []
        for p in cmd.params:
            if p.name == "help":
                continue
            kind = "argument" if p.param_type_name == "argument" else ", ".join(p.opts)
            default = "" if p.required else (p.default if p.default is not None else "")
            rows.append(
                [f"`{kind}`", _param_type(p), "yes" if p.required else "", default, getattr(p, "help", "") or ""]
            )
        if rows:
            out.append(_table(["parameter", "type", "required", "default", "help"], rows))

    walk(group, "fab2token")
    return "\n".join(out) + "\n"


def results_page() -> str:
    from fab2token.engine.simulate import SUMMARY_KEYS, simulate
    from fab2token.operations.run import OPERATE_KEYS
    from fab2token.plan import PLAN_KEYS
    from fab2token.race.run import PLAYER_KEYS, RACE_KEYS
    from fab2token.scenario import load_scenario
    from fab2token.sweep.summary import SWEEP_KEYS

    ds = simulate(load_scenario(ROOT / "examples" / "mixed-fleet.yaml")[0])
    rows = [
        [f"`{n}`", ", ".join(v.dims), v.attrs.get("units", ""), v.attrs.get("note", "")]
        for n, v in sorted(ds.data_vars.items())
    ]
    coords = [[f"`{n}`", ", ".join(v.dims), ""] for n, v in sorted(ds.coords.items())]
    return (
        "# Results\n\nGenerated from a simulation of `examples/mixed-fleet.yaml`: every variable of the results "
        "Dataset (`fab2token.engine.simulate`), its dimensions and units.\n\n"
        + _table(["variable", "dimensions", "units", "note"], rows)
        + "\n## Coordinates\n\n"
        + _table(["coordinate", "dimensions", ""], coords)
        + "\n## `--json` keys\n\n`fab2token run --json`: "
        + ", ".join(f"`{k}`" for k in SUMMARY_KEYS)
        + ".\n\n`fab2token plan --json`: "
        + ", ".join(f"`{k}`" for k in PLAN_KEYS)
        + ".\n\n`fab2token sweep --json`: "
        + ", ".join(f"`{k}`" for k in SWEEP_KEYS)
        + " (and `db`); each row of `inputs` and `outcomes` has `mean`, `p10`, `p50`, `p90` and `draws`, each "
        "`series` entry its `unit` and `mean`, `p10`, `p50`, `p90` by month ([a sweep](../how-to/sweep.md)).\n"
        + "\n`fab2token race --json`: "
        + ", ".join(f"`{k}`" for k in RACE_KEYS)
        + " (and `draws` with `--draws`, `report` with `--report`); each entry of `players`: "
        + ", ".join(f"`{k}`" for k in PLAYER_KEYS)
        + " ([a race](../how-to/race.md)).\n"
        + "\n`fab2token operate --json`: "
        + ", ".join(f"`{k}`" for k in OPERATE_KEYS)
        + " ([operations](../how-to/operate.md)).\n"
    )


def store_page() -> str:
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.duckdb"
        subprocess.run(
            [
                str(Path(sys.executable).parent / "fab2token"),
                "run",
                str(ROOT / "examples" / "small.yaml"),
                "--db",
                str(db),
                "--no-report",
                "--json",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                str(Path(sys.executable).parent / "fab2token"),
                "plan",
                str(ROOT / "examples" / "plan-two-sites.yaml"),
                "--db",
                str(db),
                "--json",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                str(Path(sys.executable).parent / "fab2token"),
                "sweep",
                str(ROOT / "examples" / "uncertain.yaml"),
                "--draws",
                "2",
                "--db",
                str(db),
                "--json",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                str(Path(sys.executable).parent / "fab2token"),
                "race",
                str(ROOT / "examples" / "race.yaml"),
                "--db",
                str(db),
                "--json",
            ],
            check=True,
            capture_output=True,
        )
        con = duckdb.connect(str(db), read_only=True)
        try:
            cols = con.execute(
                "select table_name, column_name, data_type from information_schema.columns "
                "where table_schema = 'main' order by table_name, ordinal_position"
            ).fetchall()
        finally:
            con.close()
    out = [
        "# The results store\n\nGenerated from DuckDB itself: the tables and columns of a store after one "
        "`fab2token run`, one `fab2token plan`, one `fab2token sweep` and one `fab2token race --db` (runs in `runs` "
        "and the `series_*` tables, plans in `plans` and the `plan_*` tables, `plan_arrays` holding every planned "
        "series and dual, one column per dimension; sweeps in `sweeps` and the `sweep_*` tables, one row per draw "
        "and value, `sweep_chunks` listing the chunks stored; races in `races` (the race file and its whole "
        "`--json` result), `race_players` (each player's race by month) and `race_world` (each pool by month)).\n"
    ]
    for table in sorted({t for t, _, _ in cols}):
        out.append(f"## `{table}`\n")
        out.append(_table(["column", "type"], [[c, t] for tb, c, t in cols if tb == table]))
    return "\n".join(out) + "\n"


PAGES = {
    "reference/scenario.md": scenario_page,
    "reference/race.md": race_page,
    "reference/catalog.md": catalog_page,
    "reference/cli.md": cli_page,
    "reference/results.md": results_page,
    "reference/store.md": store_page,
}

for path, make in PAGES.items():
    with mkdocs_gen_files.open(path, "w") as fh:
        fh.write(make())
