"""A fab written in fab2token's own YAML format (tool families, counts, routes, orders), for users' own fabs.

Example::

    families:
      - {name: litho, tools: 2}
      - {name: furnace, tools: 1, batch: true}
      - {name: etch, tools: 1, group: etch}
    products:
      - name: chip
        route:
          - {family: litho, minutes: 30, per: lot}
          - {family: furnace, minutes: 120, per: batch, batch_min_wafers: 50, batch_max_wafers: 100}
          - {family: etch, minutes: 2, per: piece, sample_percent: 50}
    orders:
      - {name: chip_lots, product: chip, every_minutes: 60, count: 100, priority: 10, due_days: 10}
    downs: [{group: etch, mttf_minutes: 10080, mttr_minutes: 60}]
    transport_minutes: 5

The file is read bounded (an ordinary UTF-8 file of at most :data:`MAX_FAB_YAML_BYTES`, YAML nesting, aliases and
repeated keys bounded by :mod:`fab2token.scenario.yamltext`); every problem is a :class:`~.tables.FabFormatError`
listing the file, the field path, the value and what was expected.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fab2token.errors import InputIssue, ScenarioError
from fab2token.scenario.files import FileProblem, read_regular
from fab2token.supply.fabline.loader import FabModel, Family, Order, Step
from fab2token.supply.fabline.tables import MAX_TOOLS, FabFormatError, decode

__all__ = ["MAX_FAB_YAML_BYTES", "load_fab_yaml"]

# The bundled mini fab is 1 kB; the SMT2020 HV/LM testbed written in this format (two routes of 583 and 343 steps,
# 106 families) would be ~70 kB. 4 MiB, as for a scenario, leaves room for fabs fifty times that.
MAX_FAB_YAML_BYTES = 4 * 2**20
_PER = {"piece": 0, "lot": 1, "batch": 2}
_SHAPE = "a YAML mapping with families, products and orders (see the example in the fab2token docs)"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class _Family(_M):
    name: str
    tools: int = Field(gt=0, le=MAX_TOOLS)
    group: str = ""
    batch: bool = False
    load_minutes: float = Field(default=0.0, ge=0)
    unload_minutes: float = Field(default=0.0, ge=0)


class _Step(_M):
    family: str
    minutes: float = Field(gt=0)
    halfwidth_minutes: float = Field(default=0.0, ge=0)
    per: Literal["piece", "lot", "batch"] = "lot"
    batch_min_wafers: int = Field(default=0, ge=0)
    batch_max_wafers: int = Field(default=0, ge=0)
    sample_percent: float = Field(default=100.0, gt=0, le=100)
    rework_to_step: int | None = Field(default=None, ge=1)
    rework_percent: float = Field(default=0.0, ge=0, le=100)


class _Product(_M):
    name: str
    route: list[_Step] = Field(min_length=1)


class _Order(_M):
    name: str
    product: str
    every_minutes: float = Field(gt=0)
    count: int = Field(gt=0)
    priority: int = 10
    wafers: int = Field(default=25, gt=0)
    due_days: float = Field(default=30.0, gt=0)
    start_minutes: float = Field(default=0.0, ge=0)


class _Down(_M):
    group: str
    mttf_minutes: float = Field(gt=0)
    mttr_minutes: float = Field(gt=0)


class _Fab(_M):
    families: list[_Family] = Field(min_length=1)
    products: list[_Product] = Field(min_length=1)
    orders: list[_Order] = Field(min_length=1)
    downs: list[_Down] = Field(default_factory=list)
    transport_minutes: float = Field(default=0.0, ge=0)


def _read(p: Path) -> _Fab:
    """The validated file, or FabFormatError listing every problem pydantic found."""
    file = str(p)
    try:
        raw = read_regular(p, MAX_FAB_YAML_BYTES)
    except FileProblem as exc:
        expected = f"an ordinary UTF-8 YAML fab file of at most {MAX_FAB_YAML_BYTES:,} bytes"
        raise FabFormatError([InputIssue(file, "", str(exc), expected)]) from None
    text = decode(raw, file, table=False)
    from fab2token.scenario.checks import expected as _expected
    from fab2token.scenario.checks import fields_at, loc
    from fab2token.scenario.yamltext import load_yaml

    try:
        data = load_yaml(text, file)
    except ScenarioError as exc:
        raise FabFormatError(exc.issues) from None
    if data is None:
        raise FabFormatError([InputIssue(file, "", "an empty file", _SHAPE)])
    try:
        return _Fab.model_validate(data)
    except ValidationError as exc:
        issues = []
        for e in exc.errors():
            where = tuple(e["loc"])
            if e["type"] == "extra_forbidden":
                names = fields_at(where[:-1], _Fab) or []
                close = difflib.get_close_matches(str(where[-1]), names, n=1, cutoff=0.6)
                why = (
                    f"unknown field: did you mean {close[0]}?" if close else f"unknown field: one of {', '.join(names)}"
                )
            else:
                why = _expected(e) if where else _SHAPE
            issues.append(InputIssue(file, loc(where), e.get("input"), why))
        raise FabFormatError(issues) from None


def _step(file: str, where: str, si: int, st: _Step, route_len: int, fam_index: dict[str, int]) -> Step | InputIssue:
    if st.family not in fam_index:
        return InputIssue(file, f"{where}.family", st.family, f"one of the families: {', '.join(fam_index)}")
    if st.rework_to_step is not None and st.rework_to_step > route_len:
        expected = f"a step number of this route (1..{route_len})"
        return InputIssue(file, f"{where}.rework_to_step", st.rework_to_step, expected)
    if st.halfwidth_minutes > st.minutes:
        expected = f"at most minutes ({st.minutes:g}): a time drawn below zero would run the clock back"
        return InputIssue(file, f"{where}.halfwidth_minutes", st.halfwidth_minutes, expected)
    if st.batch_max_wafers and st.batch_max_wafers < st.batch_min_wafers:
        expected = f"at least batch_min_wafers ({st.batch_min_wafers})"
        return InputIssue(file, f"{where}.batch_max_wafers", st.batch_max_wafers, expected)
    return Step(
        desc=f"{si + 1:03d}_{st.family}",
        family=fam_index[st.family],
        pt_mean_min=st.minutes,
        pt_halfwidth_min=st.halfwidth_minutes,
        per=_PER[st.per],
        batch_min=st.batch_min_wafers,
        batch_max=st.batch_max_wafers or 10**9,
        sample_frac=st.sample_percent / 100.0,
        rework_step=(st.rework_to_step - 1) if st.rework_to_step else -1,
        rework_frac=st.rework_percent / 100.0,
    )


def _routes(file: str, fab: _Fab, fam_index: dict[str, int], issues: list[InputIssue]) -> list[list[Step]]:
    routes = []
    for pi, prod in enumerate(fab.products):
        steps = []
        for si, st in enumerate(prod.route):
            made = _step(file, f"products[{pi}].route[{si}]", si, st, len(prod.route), fam_index)
            if isinstance(made, InputIssue):
                issues.append(made)
            else:
                steps.append(made)
        routes.append(steps)
    return routes


def _orders(file: str, fab: _Fab, products: list[str], issues: list[InputIssue]) -> list[Order]:
    orders = []
    for oi, o in enumerate(fab.orders):
        if o.product not in products:
            issues.append(InputIssue(file, f"orders[{oi}].product", o.product, f"one of: {', '.join(products)}"))
            continue
        orders.append(
            Order(
                name=o.name,
                route=products.index(o.product),
                priority=o.priority,
                pieces=o.wafers,
                start_min=o.start_minutes,
                interval_min=o.every_minutes,
                count=o.count,
                due_offset_min=o.due_days * 1440.0,
            )
        )
    return orders


def _repeated(file: str, section: str, items: list[Any], issues: list[InputIssue]) -> None:
    """Names given twice in a section (the later one could never be referred to)."""
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.name in first:
            expected = f"each name once in {section} (it is {section}[{first[item.name]}].name already)"
            issues.append(InputIssue(file, f"{section}[{i}].name", item.name, expected))
        first.setdefault(item.name, i)


def load_fab_yaml(path: str | Path) -> FabModel:
    """Read and validate a fab in the YAML format above; errors list file, field path, value and expectation.

    Raises
    ------
    FabFormatError
        The file is missing, not an ordinary file, larger than :data:`MAX_FAB_YAML_BYTES`, not UTF-8 or not
        well-formed (bounded) YAML; or a field is missing, unknown, of the wrong type or out of range; or a name
        refers to a family or product that is not defined (every problem is listed).
    """
    p = Path(path)
    file = str(p)
    fab = _read(p)
    issues: list[InputIssue] = []
    _repeated(file, "families", fab.families, issues)
    _repeated(file, "products", fab.products, issues)
    total = sum(f.tools for f in fab.families)
    if total > MAX_TOOLS:
        issues.append(InputIssue(file, "families[*].tools", total, f"at most {MAX_TOOLS:,} tools in the fab"))
    groups = list(dict.fromkeys(f.group or f.name for f in fab.families))
    for di, d in enumerate(fab.downs):
        if d.group not in groups:
            issues.append(
                InputIssue(file, f"downs[{di}].group", d.group, f"a group of the families: {', '.join(groups)}")
            )
    fam_index = {f.name: i for i, f in enumerate(fab.families)}
    routes = _routes(file, fab, fam_index, issues)
    products = [pr.name for pr in fab.products]
    orders = _orders(file, fab, products, issues)
    if issues:
        raise FabFormatError(issues)
    families = [
        Family(
            name=f.name,
            tools=f.tools,
            group=f.group or f.name,
            load_min=f.load_minutes,
            unload_min=f.unload_minutes,
            batching=f.batch,
        )
        for f in fab.families
    ]
    return FabModel(
        families=families,
        routes=routes,
        route_names=products,
        products=products,
        orders=orders,
        wip=[],
        setup_names=[],
        downs={d.group: (d.mttf_minutes, d.mttr_minutes) for d in fab.downs},
        transport_min=(fab.transport_minutes, 0.0),
        folder=file,
    )
