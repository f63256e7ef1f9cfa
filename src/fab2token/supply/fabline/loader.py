"""Reader for fab models in the AutoSched AP text format used by the SMT2020 testbed (tab-separated, one header row).

Kopp, Hassoun, Kalir and Mönch, "SMT2020 — A Semiconductor Manufacturing Testbed", IEEE TSM 33(4), 2020. Choices
where the format's text leaves room (stated in README "Fab line"):

- ``uniform`` processing times read ``PTIME`` as the mean and ``PTIME2`` as the half-width (the testbed's PTIME2 is 5 %
  of PTIME throughout);
- ``per_piece`` steps take ``PTIME`` per wafer; with a ``PartInterval`` the wafers cascade: the lot takes
  ``PTIME + (pieces - 1) x interval`` and the tool is free for the next lot after ``pieces x interval``; likewise a
  ``BatchInterval`` on a per-lot or per-batch step frees the tool for the next lot (or batch) after the interval
  while the lot itself takes ``PTIME``;
- ``BATCHMN``/``BATCHMX`` count wafers (``BATCHPER piece``); lots batch with lots at the same route step;
- ``StepPercent`` is the percentage of lots that perform a sampled step; ``REWORK`` the percentage sent back to
  ``RWKSTEP``; calendars attached to a station group or family apply to every tool in it; ``mtbpm_by_pieces`` PMs
  count wafers processed per tool, and their first occurrence (attach.txt ``FOA``, no unit) is in wafers too;
  other empty time units mean minutes.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from fab2token.errors import Fab2TokenError

__all__ = ["FabModel", "Step", "Family", "Order", "WipLot", "Pm", "load_fab", "FabFormatError"]

_UNITS = {"sec": 1 / 60, "min": 1.0, "hr": 60.0, "hour": 60.0, "day": 1440.0, "days": 1440.0}
_PER = {"per_piece": 0, "per_lot": 1, "per_batch": 2}


class FabFormatError(Fab2TokenError):
    """A fab folder that is not in the expected format."""


@dataclass
class Step:
    desc: str
    family: int
    pt_mean_min: float
    pt_halfwidth_min: float
    per: int  # 0 per piece, 1 per lot, 2 per batch
    batch_min: int = 0
    batch_max: int = 0
    setup: int = -1
    setup_min: float = 0.0
    part_interval_min: float = 0.0
    batch_interval_min: float = 0.0
    sample_frac: float = 1.0
    rework_step: int = -1
    rework_frac: float = 0.0


@dataclass
class Family:
    name: str
    tools: int
    group: str
    load_min: float
    unload_min: float
    batching: bool
    setup_group: str = ""


@dataclass
class Order:
    name: str
    route: int
    priority: int
    pieces: int
    start_min: float
    interval_min: float
    count: int
    due_offset_min: float


@dataclass
class WipLot:
    name: str
    route: int
    priority: int
    pieces: int
    step: int
    due_min: float


@dataclass
class Pm:
    """Preventive maintenance of every tool of a family: every ``every`` minutes (or wafers when ``by_pieces``),
    first after ``first``; lasting uniform(mean ± half-width) minutes."""

    family: int
    by_pieces: bool
    first: float
    every: float
    mean_min: float
    halfwidth_min: float


@dataclass
class FabModel:
    """A loaded fab: tool families, routes (steps), lot release orders, initial WIP and calendars (minutes)."""

    families: list[Family]
    routes: list[list[Step]]
    route_names: list[str]
    products: list[str]
    orders: list[Order]
    wip: list[WipLot]
    setup_names: list[str]
    setup_matrix: dict[tuple[int, int], float] = field(default_factory=dict)
    downs: dict[str, tuple[float, float]] = field(default_factory=dict)  # group -> (MTTF, MTTR) min, exponential
    pms: list[Pm] = field(default_factory=list)
    transport_min: tuple[float, float] = (0.0, 0.0)
    folder: str = ""

    @property
    def tool_count(self) -> int:
        return sum(f.tools for f in self.families)


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise FabFormatError(f"{path}: missing (expected an AutoSched AP text file)")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [{(k or "").strip(): (v or "").strip() for k, v in r.items() if k is not None} for r in rows]


def _num(row: dict[str, str], key: str, file: Path, default: float | None = None) -> float:
    text = row.get(key, "")
    if text == "":
        if default is None:
            raise FabFormatError(f"{file}: column {key} is empty in row {row}")
        return default
    try:
        return float(text)
    except ValueError:
        raise FabFormatError(f"{file}: column {key}: {text!r} is not a number") from None


def _minutes(value: float, unit: str, file: Path) -> float:
    if unit not in _UNITS:
        raise FabFormatError(f"{file}: unknown time unit {unit!r}; expected one of {', '.join(_UNITS)}")
    return value * _UNITS[unit]


def _when(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%m/%d/%y %H:%M:%S")


def load_fab(folder: str | Path) -> FabModel:
    """Load an SMT2020-style folder (tool.txt.1l, part.txt, route_*.txt, order.txt, WIP.txt, calendars)."""
    root = Path(folder)
    if not root.is_dir():
        raise FabFormatError(f"{root}: not a folder (expected an SMT2020-style fab folder)")
    tools = _read(root / "tool.txt.1l")
    fam_index: dict[str, int] = {}
    families: list[Family] = []
    for r in tools:
        f = root / "tool.txt.1l"
        fam_index[r["STNFAM"]] = len(families)
        families.append(
            Family(
                name=r["STNFAM"],
                tools=int(_num(r, "STNQTY", f)),
                group=r.get("STNGRP", ""),
                load_min=_minutes(_num(r, "LTIME", f, 0.0), r.get("LTUNITS") or "min", f),
                unload_min=_minutes(_num(r, "ULTIME", f, 0.0), r.get("ULTUNITS") or "min", f),
                batching=r.get("BATCHCRITF", "") != "",
                setup_group=r.get("SETUPGRP", ""),
            )
        )
    setup_names: list[str] = []
    setup_index: dict[str, int] = {}

    def setup_id(name: str) -> int:
        if name not in setup_index:
            setup_index[name] = len(setup_names)
            setup_names.append(name)
        return setup_index[name]

    parts = _read(root / "part.txt")
    routes: list[list[Step]] = []
    route_names: list[str] = []
    products: list[str] = []
    part_route: dict[str, int] = {}
    for p in parts:
        file = root / p["ROUTEFILE"]
        steps: list[Step] = []
        rows = _read(file)
        step_no = {int(_num(r, "STEP", file)): k for k, r in enumerate(rows)}
        for r in rows:
            fam = r["STNFAM"]
            if fam not in fam_index:
                raise FabFormatError(f"{file}: step {r['STEP']} uses tool family {fam!r}, not in tool.txt.1l")
            unit = r.get("PTUNITS") or "min"
            s = Step(
                desc=r["DESC"],
                family=fam_index[fam],
                pt_mean_min=_minutes(_num(r, "PTIME", file), unit, file),
                pt_halfwidth_min=_minutes(_num(r, "PTIME2", file, 0.0), unit, file),
                per=_PER.get(r["PTPER"], 1),
            )
            if r.get("BATCHMN"):
                s.batch_min, s.batch_max = int(_num(r, "BATCHMN", file)), int(_num(r, "BATCHMX", file))
            if r.get("SETUP"):
                s.setup = setup_id(r["SETUP"])
                s.setup_min = _minutes(_num(r, "STIME", file, 0.0), r.get("STUNITS") or "min", file)
            if r.get("PartInterval"):
                s.part_interval_min = _minutes(_num(r, "PartInterval", file), r.get("PartIntUnits") or "min", file)
            if r.get("BatchInterval"):
                s.batch_interval_min = _minutes(_num(r, "BatchInterval", file), r.get("BatchIntUnits") or "min", file)
            if r.get("StepPercent"):
                s.sample_frac = _num(r, "StepPercent", file) / 100.0
            if r.get("RWKSTEP"):
                s.rework_step = step_no[int(_num(r, "RWKSTEP", file))]
                s.rework_frac = _num(r, "REWORK", file, 0.0) / 100.0
            steps.append(s)
        part_route[p["PART"]] = len(routes)
        routes.append(steps)
        route_names.append(p["ROUTE"])
        products.append(p["PART"])

    orders_rows = _read(root / "order.txt")
    epoch = min(_when(r["START"]) for r in orders_rows)
    orders = []
    for r in orders_rows:
        f = root / "order.txt"
        start = (_when(r["START"]) - epoch).total_seconds() / 60
        orders.append(
            Order(
                name=r["LOT"],
                route=part_route[r["PART"]],
                priority=int(_num(r, "PRIOR", f)),
                pieces=int(_num(r, "PIECES", f)),
                start_min=start,
                interval_min=_minutes(_num(r, "REPEAT", f), r.get("RUNITS") or "min", f),
                count=int(_num(r, "RPT#", f)),
                due_offset_min=(_when(r["DUE"]) - _when(r["START"])).total_seconds() / 60,
            )
        )
    wip = []
    wip_file = root / "WIP.txt"
    if wip_file.exists():
        for r in _read(wip_file):
            route = part_route[r["PART"]]
            step = int(_num(r, "CURSTEP", wip_file)) - 1
            wip.append(
                WipLot(
                    name=r["LOT"],
                    route=route,
                    priority=int(_num(r, "PRIOR", wip_file)),
                    pieces=int(_num(r, "PIECES", wip_file)),
                    step=min(max(step, 0), len(routes[route]) - 1),
                    due_min=(_when(r["DUE"]) - epoch).total_seconds() / 60,
                )
            )

    matrix: dict[tuple[int, int], float] = {}
    if (root / "setup.txt").exists():
        current = ""
        for r in _read(root / "setup.txt"):
            current = r.get("CURSETUP") or current
            if r.get("NEWSETUP"):
                t = _minutes(_num(r, "STIME", root / "setup.txt"), r.get("STUNITS") or "min", root / "setup.txt")
                matrix[(setup_id(current) if current else -1, setup_id(r["NEWSETUP"]))] = t
    downs: dict[str, tuple[float, float]] = {}
    for r in _read(root / "downcal.txt") if (root / "downcal.txt").exists() else []:
        f = root / "downcal.txt"
        downs[r["DOWNCALNAME"]] = (
            _minutes(_num(r, "MTTF", f), r["MTTFUNITS"], f),
            _minutes(_num(r, "MTTR", f), r["MTTRUNITS"], f),
        )
    pmcal = {r["PMCALNAME"]: r for r in (_read(root / "pmcal.txt") if (root / "pmcal.txt").exists() else [])}
    group_downs: dict[str, tuple[float, float]] = {}
    pms: list[Pm] = []
    for r in _read(root / "attach.txt") if (root / "attach.txt").exists() else []:
        f = root / "attach.txt"
        if r["CALTYPE"] == "down" and r["CALNAME"] in downs:
            group_downs[r["RESNAME"]] = downs[r["CALNAME"]]
        elif r["CALTYPE"] == "pm" and r["CALNAME"] in pmcal and r["RESNAME"] in fam_index:
            c = pmcal[r["CALNAME"]]
            pf = root / "pmcal.txt"
            by_pieces = c.get("PMCALTYPE") == "mtbpm_by_pieces"
            first = _num(r, "FOA", f)
            every = _num(c, "MTBPM", pf)
            if not by_pieces:  # calendar PMs: times; counter PMs: wafers processed (FOA in pieces, no unit)
                first = _minutes(first, r.get("FOAUNITS") or "min", f)
                every = _minutes(every, c.get("MTBPMUNITS") or "min", pf)
            pms.append(
                Pm(
                    family=fam_index[r["RESNAME"]],
                    by_pieces=by_pieces,
                    first=first,
                    every=every,
                    mean_min=_minutes(_num(c, "MTTR", pf), c.get("MTTRUNITS") or "min", pf),
                    halfwidth_min=_minutes(_num(c, "MTTR2", pf, 0.0), c.get("MTTRUNITS") or "min", pf),
                )
            )
    transport = (0.0, 0.0)
    if (root / "fromto.txt").exists():
        rows = _read(root / "fromto.txt")
        if rows:
            f = root / "fromto.txt"
            transport = (
                _minutes(_num(rows[0], "DTIME", f), rows[0]["DUNITS"], f),
                _minutes(_num(rows[0], "DTIME2", f, 0.0), rows[0]["DUNITS"], f),
            )
    return FabModel(
        families=families,
        routes=routes,
        route_names=route_names,
        products=products,
        orders=orders,
        wip=wip,
        setup_names=setup_names,
        setup_matrix=matrix,
        downs=group_downs,
        pms=pms,
        transport_min=transport,
        folder=str(root),
    )
