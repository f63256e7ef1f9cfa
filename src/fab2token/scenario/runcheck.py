"""Validation that `run` will not refuse what `validate` accepted.

The engine resolves each supply chain, fleet type and workload against the catalog (with the scenario's overrides)
and stops when a figure it needs is missing. Those needs are checked here, at load time, without doing any physics:
each catalog override is a sound value for its column, each accelerator a supply chain builds has a process node
in the catalog, a die area within that node's reticle, a defect density, an interposer area when packaging
capacity is given and stacks per accelerator when HBM supply is given; every fleet type has a power figure (and,
with inference, the peak FLOP/s and HBM figures serving needs); a fab line result can be read. The one file this
reads (``supply.fab.fabline_result``, relative to the scenario file) is read once and handed on as data.
"""

from __future__ import annotations

import math
from typing import Any

from fab2token import catalog
from fab2token.errors import CatalogError, InputIssue, shown
from fab2token.scenario.fields import MAX_MAGNITUDE
from fab2token.scenario.files import FileProblem, input_path, read_fabline_result
from fab2token.scenario.models import Fab, Scenario, Supply

__all__ = ["catalog_override_issues", "number_problem", "runnable_issues", "ZERO_ALLOWED", "FLAG_COLUMNS"]

# Numeric catalog columns where 0 is a real value; every other numeric column is a size, a rate or a count the
# models divide by or scale with, so an override must be above 0 (``board_power_w: 0`` would give 0 kW per
# accelerator and unbounded fleets). Shipped rows hold 0 only in these columns (checked by the tests).
ZERO_ALLOWED: dict[str, frozenset[str]] = {
    "models": frozenset({"shared_experts", "dense_layers", "gated_mlp", "tied_embeddings"}),
    "process_nodes": frozenset({"d0_per_cm2", "d0_launch_per_cm2", "wafer_price_usd"}),  # a perfect or free fab
    "optics": frozenset({"power_w", "price_usd"}),
    "overheads": frozenset({"value"}),  # e.g. no network overhead, no failures
}
# Columns that are yes/no flags: 0 or 1.
FLAG_COLUMNS = frozenset({"gated_mlp", "tied_embeddings"})
_TEXT_OVERRIDES = ("aliases", "vendor", "process_node", "source", "notes", "precisions", "status")


def _unknown(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def number_problem(table: str, name: str, field: str, value: Any) -> str | None:
    """What an override of a numeric column must be, when ``value`` is not that (None when it is)."""
    unit = "in the unit of the column name"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"a number {unit}"
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        return f"a finite number of magnitude at most {MAX_MAGNITUDE:g} {unit}"
    if field in FLAG_COLUMNS:
        return None if value in (0, 1) else "0 or 1 (a yes/no flag)"
    fraction = field.endswith("_frac") or (table == "overheads" and name.endswith("_frac"))
    if field in ZERO_ALLOWED.get(table, ()):
        if value < 0:
            return f"a non-negative number {unit}"
    elif value <= 0:
        return f"a number above 0 {unit} (it is a size, rate or count the models divide by)"
    if fraction and value > 1:
        return "a fraction in (0, 1]" if field not in ZERO_ALLOWED.get(table, ()) else "a fraction in [0, 1]"
    return None


def catalog_override_issues(file: str, sc: Scenario) -> list[InputIssue]:
    """Catalog overrides name real tables and columns; text columns hold text, numeric columns sound numbers."""
    issues: list[InputIssue] = []
    for table, rows in sc.catalog.items():
        if table not in catalog.TABLES:
            issues.append(
                InputIssue(file, f"catalog.{table}", table, f"one of the catalog tables: {', '.join(catalog.TABLES)}")
            )
            continue
        numeric = set(catalog.numeric_columns(table))
        allowed = numeric | set(_TEXT_OVERRIDES)
        for name, fields in rows.items():
            for field, value in (fields or {}).items():
                path = f"catalog.{table}.{name}.{field}"
                if field not in allowed:
                    issues.append(
                        InputIssue(file, path, value, f"a column of {table}.csv: {', '.join(sorted(allowed))}")
                    )
                elif field in numeric:
                    problem = number_problem(table, name, field, value)
                    if problem is not None:
                        issues.append(InputIssue(file, path, value, problem))
                elif not isinstance(value, str):
                    issues.append(InputIssue(file, path, value, "text (a quoted string)"))
                elif field in ("precisions", "status"):
                    issues += _listed_issues(file, path, field, value)
    return issues


def _listed_issues(file: str, path: str, field: str, value: str) -> list[InputIssue]:
    """A ``precisions`` override lists known formats (``bf16;fp8``); a ``status`` is one of the known ones."""
    if field == "status":
        ok = value in catalog.STATUSES
        return [] if ok else [InputIssue(file, path, value, f"one of {', '.join(catalog.STATUSES)}")]
    unknown = [p for p in (x.strip().lower() for x in value.split(";")) if p and p not in catalog.PRECISIONS]
    if not unknown:
        return []
    return [InputIssue(file, path, value, f"formats separated by ';', each one of {', '.join(catalog.PRECISIONS)}")]


def _spec(sc: Scenario, name: str) -> dict[str, Any] | None:
    try:
        return catalog.lookup("accelerators", name, sc.catalog.get("accelerators"))
    except CatalogError:  # reported where the name is checked
        return None


def _override_path(sc: Scenario, table: str, canonical: str) -> str:
    """``catalog.<table>.<name>`` as the scenario writes it (an alias it overrides by), else the canonical name."""
    rows = catalog.load_table(table, sc.catalog.get(table))
    key = next((k for k in sc.catalog.get(table, {}) if catalog.resolve_name(table, k, rows, True) == canonical), None)
    return f"catalog.{table}.{key or canonical}"


def _chain_issues(file: str, sc: Scenario, sup: Supply, prefix: str) -> list[InputIssue]:
    """What :func:`fab2token.supply.chain.inputs_from_supply` and :func:`~fab2token.supply.chain.chain` need."""
    spec = _spec(sc, sup.accelerator)
    if spec is None:
        return []
    over = _override_path(sc, "accelerators", spec["name"])
    return (
        _die_issues(file, sc, sup, prefix, spec, over)
        + _assembly_issues(file, sup, prefix, spec, over)
        + _geometry_issues(file, sup, prefix)
        + _fabline_issues(file, sup.fab, f"{prefix}.fab")
    )


def _die_issues(file: str, sc: Scenario, sup: Supply, prefix: str, spec: dict[str, Any], over: str) -> list[InputIssue]:
    """A process node from the catalog, a die area within its reticle, a defect density."""
    issues: list[InputIssue] = []
    node_name, node = spec["process_node"], None
    if _unknown(node_name):
        expected = f"an accelerator whose process node is known: set {over}.process_node"
        issues.append(InputIssue(file, f"{prefix}.accelerator", sup.accelerator, expected))
    else:
        try:
            node = catalog.lookup("process_nodes", str(node_name), sc.catalog.get("process_nodes"))
        except CatalogError as exc:
            known = str(exc).split("known: ", 1)[-1]
            issues.append(
                InputIssue(file, f"{over}.process_node", node_name, f"a process node of the catalog: {known}")
            )
    area = spec["compute_die_area_mm2"]
    if _unknown(area):
        expected = (
            f"an accelerator whose compute die area is known to model its wafers: set {over}.compute_die_area_mm2"
        )
        issues.append(InputIssue(file, f"{prefix}.accelerator", sup.accelerator, expected))
    elif node is not None and not _unknown(node["reticle_limit_mm2"]) and area > node["reticle_limit_mm2"]:
        expected = (
            f"a die within the {node['node']} reticle field of {node['reticle_limit_mm2']:g} mm2 (split a larger "
            "design into several dies: compute_dies and the per-die area)"
        )
        issues.append(InputIssue(file, f"{over}.compute_die_area_mm2", area, expected))
    if node is not None and sup.fab.d0_per_cm2 is None and _unknown(node["d0_per_cm2"]):
        expected = f"a defect density: process node {node['node']} publishes none"
        issues.append(InputIssue(file, f"{prefix}.fab.d0_per_cm2", "(missing)", expected))
    return issues


def _assembly_issues(file: str, sup: Supply, prefix: str, spec: dict[str, Any], over: str) -> list[InputIssue]:
    """Packaging capacity needs an interposer area, HBM supply the stacks per accelerator."""
    issues: list[InputIssue] = []
    pkg, hbm, acc = sup.packaging, sup.hbm, spec["name"]
    if pkg.capacity_wafers_per_month and pkg.interposer_area_mm2 is None and _unknown(spec["interposer_area_mm2"]):
        expected = (
            f"the interposer area (mm2) to turn packaging wafers into packages: {acc} publishes none (or set "
            f"{over}.interposer_area_mm2)"
        )
        issues.append(InputIssue(file, f"{prefix}.packaging.interposer_area_mm2", "(missing)", expected))
    given = hbm.supply_stacks_per_month or hbm.world_supply_stacks_per_month
    if given and hbm.stacks_per_accelerator is None and _unknown(spec["hbm_stacks"]):
        expected = (
            f"HBM stacks per accelerator to turn HBM supply into accelerators: {acc} publishes none (or set "
            f"{over}.hbm_stacks)"
        )
        issues.append(InputIssue(file, f"{prefix}.hbm.stacks_per_accelerator", "(missing)", expected))
    return issues


def _geometry_issues(file: str, sup: Supply, prefix: str) -> list[InputIssue]:
    """The edge exclusion leaves part of the wafer usable (the gross-die formula would count dies off the wafer)."""
    issues: list[InputIssue] = []
    for part, section in (("fab", sup.fab), ("packaging", sup.packaging)):
        radius = section.wafer_diameter_mm / 2
        if section.edge_exclusion_mm >= radius:
            issues.append(
                InputIssue(
                    file,
                    f"{prefix}.{part}.edge_exclusion_mm",
                    section.edge_exclusion_mm,
                    f"less than the wafer's radius ({radius:g} mm of a {section.wafer_diameter_mm:g} mm "
                    "wafer): an exclusion that wide leaves no usable wafer",
                )
            )
        elif section.scribe_mm >= (usable := section.wafer_diameter_mm - 2 * section.edge_exclusion_mm):
            issues.append(
                InputIssue(
                    file,
                    f"{prefix}.{part}.scribe_mm",
                    section.scribe_mm,
                    f"a scribe lane narrower than the usable wafer ({usable:g} mm across)",
                )
            )
    return issues


def _fabline_issues(file: str, fab: Fab, path: str) -> list[InputIssue]:
    """The fab line result is read once here (relative to the scenario file) and handed on as data."""
    if fab.fabline_result is None:
        return []
    where = input_path(fab.fabline_result, file)
    try:
        *figures, share = read_fabline_result(where, fab.fabline_order or "", with_share=True)
    except FileProblem as exc:
        return [
            InputIssue(
                file,
                f"{path}.fabline_result",
                fab.fabline_result,
                f"a `fab2token fabline --json` output with order {shown(fab.fabline_order)}: {exc}",
            )
        ]
    fab._fabline, fab._fabline_share, fab._fabline_path = tuple(figures), share, str(where)
    return []


def _type_issues(file: str, sc: Scenario, name: str, path: str) -> list[InputIssue]:
    """What placing (power) and, with inference, serving (peak FLOP/s, HBM) a fleet type needs."""
    spec = _spec(sc, name)
    if spec is None:
        return []
    over = _override_path(sc, "accelerators", spec["name"])
    issues: list[InputIssue] = []
    if _unknown(spec["board_power_w"]) and _unknown(spec["server_power_w_per_accelerator"]):
        issues.append(InputIssue(file, path, name, f"an accelerator whose power is known: set {over}.board_power_w"))
    inf = sc.workloads.inference
    if inf is not None:
        fp8 = inf.precision in ("fp8", "int8", "int4")
        peak = (
            spec["dense_fp8_flop_per_s"]
            if fp8 and not _unknown(spec["dense_fp8_flop_per_s"])
            else spec["dense_bf16_flop_per_s"]
        )
        missing = [
            c
            for c, v in (
                ("dense_bf16_flop_per_s", peak),
                ("hbm_gb", spec["hbm_gb"]),
                ("hbm_tb_per_s", spec["hbm_tb_per_s"]),
            )
            if _unknown(v)
        ]
        if missing:
            settings = ", ".join(f"{over}.{c}" for c in missing)
            issues.append(
                InputIssue(file, path, name, f"an accelerator that can serve workloads.inference: set {settings}")
            )
        listed = catalog.precisions(spec)
        fmt = catalog.COMPUTE_FORMAT.get(inf.precision)
        if fmt is not None and listed and fmt not in listed:
            issues.append(
                InputIssue(
                    file,
                    "workloads.inference.precision",
                    inf.precision,
                    f"a format every serving type computes in: {spec['name']} ({path}) has {', '.join(listed)}",
                )
            )
        elif fmt == "fp4" and _unknown(spec.get("dense_fp4_flop_per_s")):
            issues.append(
                InputIssue(
                    file, path, name, f"an accelerator with a published fp4 peak: set {over}.dense_fp4_flop_per_s"
                )
            )
    return issues


_ARCHITECTURE = ("layers", "hidden", "heads", "vocab")  # fab2token.workloads.architecture.model_spec needs these


def _model_issues(file: str, sc: Scenario) -> list[InputIssue]:
    """The inference model's architecture is known (an unknown one stops the run; a training run reports it)."""
    inf = sc.workloads.inference
    if inf is None:
        return []
    try:
        row = catalog.lookup("models", inf.model, sc.catalog.get("models"))
    except CatalogError:  # reported where the name is checked
        return []
    missing = [k for k in _ARCHITECTURE if _unknown(row.get(k))]
    if not missing:
        return []
    settings = ", ".join(f"catalog.models.{row['name']}.{k}" for k in missing)
    return [
        InputIssue(file, "workloads.inference.model", inf.model, f"a model whose architecture is known: set {settings}")
    ]


def _layout_issues(file: str, sc: Scenario) -> list[InputIssue]:
    """Each training run's parallel layout fits its model and its accelerators, and the inference TP divides the
    model's heads (what :func:`fab2token.workloads.training.train` and ``infer`` refuse)."""
    issues: list[InputIssue] = []

    def row(name: str) -> dict[str, Any] | None:
        try:
            r = catalog.lookup("models", name, sc.catalog.get("models"))
        except CatalogError:  # reported where the name is checked
            return None
        return None if _unknown(r.get("heads")) or _unknown(r.get("layers")) else r

    for i, run in enumerate(sc.workloads.training):
        m, path = row(run.model), f"workloads.training[{i}]"
        if m is None:
            continue
        tp = min(run.tp, run.accelerators)
        if m["heads"] % tp:
            issues.append(InputIssue(file, f"{path}.tp", run.tp, f"a divisor of {m['name']}'s {m['heads']:g} heads"))
        if run.pp > m["layers"]:
            issues.append(InputIssue(file, f"{path}.pp", run.pp, f"at most {m['name']}'s {m['layers']:g} layers"))
        elif run.accelerators < tp * run.pp:
            issues.append(
                InputIssue(file, f"{path}.accelerators", run.accelerators, f"at least tp x pp = {tp * run.pp}")
            )
    inf = sc.workloads.inference
    m = None if inf is None or inf.tp is None else row(inf.model)
    if m is not None and inf is not None and inf.tp is not None and m["heads"] % inf.tp:
        issues.append(
            InputIssue(file, "workloads.inference.tp", inf.tp, f"a divisor of {m['name']}'s {m['heads']:g} heads")
        )
    return issues


def runnable_issues(file: str, sc: Scenario) -> list[InputIssue]:
    """Everything the engine would stop on, as issues (call once the catalog overrides are sound)."""
    issues = _chain_issues(file, sc, sc.supply, "supply")
    issues += _type_issues(file, sc, sc.supply.accelerator, "supply.accelerator")
    for i, ft in enumerate(sc.fleet):
        if ft.supply is not None:
            issues += _chain_issues(file, sc, ft.supply, f"fleet[{i}].supply")
        issues += _type_issues(file, sc, ft.accelerator, f"fleet[{i}].accelerator")
    issues += _model_issues(file, sc) + _layout_issues(file, sc)
    return issues
