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
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fab2token.errors import InputIssue, ScenarioError
from fab2token.supply.fabline.loader import FabModel, Family, Order, Step

__all__ = ["load_fab_yaml"]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Family(_M):
    name: str
    tools: int = Field(gt=0)
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


def load_fab_yaml(path: str | Path) -> FabModel:
    """Read and validate a fab in the YAML format above; errors list file, field path, value and expectation."""
    p = Path(path)
    file = str(p)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        fab = _Fab.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError([InputIssue(file, "", type(exc).__name__, "a readable YAML fab file")]) from None
    except ValidationError as exc:
        from fab2token.scenario.checks import expected as _expected
        from fab2token.scenario.checks import loc as _loc

        raise ScenarioError(
            [InputIssue(file, _loc(e["loc"]), e.get("input"), _expected(e)) for e in exc.errors()]
        ) from None
    fam_index = {f.name: i for i, f in enumerate(fab.families)}
    issues = []
    routes = []
    for pi, prod in enumerate(fab.products):
        steps = []
        for si, st in enumerate(prod.route):
            if st.family not in fam_index:
                issues.append(
                    InputIssue(
                        file,
                        f"products[{pi}].route[{si}].family",
                        st.family,
                        f"one of the families: {', '.join(fam_index)}",
                    )
                )
                continue
            if st.rework_to_step is not None and st.rework_to_step > len(prod.route):
                issues.append(
                    InputIssue(
                        file,
                        f"products[{pi}].route[{si}].rework_to_step",
                        st.rework_to_step,
                        f"a step number of this route (1..{len(prod.route)})",
                    )
                )
            steps.append(
                Step(
                    desc=f"{si + 1:03d}_{st.family}",
                    family=fam_index[st.family],
                    pt_mean_min=st.minutes,
                    pt_halfwidth_min=st.halfwidth_minutes,
                    per={"piece": 0, "lot": 1, "batch": 2}[st.per],
                    batch_min=st.batch_min_wafers,
                    batch_max=st.batch_max_wafers or 10**9,
                    sample_frac=st.sample_percent / 100.0,
                    rework_step=(st.rework_to_step - 1) if st.rework_to_step else -1,
                    rework_frac=st.rework_percent / 100.0,
                )
            )
        routes.append(steps)
    products = [pr.name for pr in fab.products]
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
    if issues:
        raise ScenarioError(issues)
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
