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

A damaged folder is refused with :class:`FabFormatError` naming the file, line, column, value and what was
expected (reading and the per-value checks are in :mod:`.tables`): a missing or unreadable file, a column renamed,
a number, date or unit that cannot be read, a part, route step, tool family, station group or calendar that is
referenced but not defined, and values that would stall or break the simulation (a zero release interval or time
between failures, a half-width larger than its mean, more than :data:`~.tables.MAX_TOOLS` tools).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from fab2token.supply.fabline.tables import MAX_TOOLS, FabFormatError, Row, read_table, refuse

__all__ = ["FabModel", "Step", "Family", "Order", "WipLot", "Pm", "load_fab", "FabFormatError"]

_PER = {"per_piece": 0, "per_lot": 1, "per_batch": 2}
_FOLDER_EXPECTED = (
    "an SMT2020-style fab folder (tool.txt.1l, part.txt, the route files, order.txt; WIP.txt, setup.txt, "
    "downcal.txt, pmcal.txt, attach.txt and fromto.txt when present) or a fab2token YAML fab file (.yaml)"
)
# the columns read from each file: its header must name them all (a value may be empty where a default exists)
_TOOL_COLUMNS = ("STNFAM", "STNQTY", "STNGRP", "LTIME", "LTUNITS", "ULTIME", "ULTUNITS", "BATCHCRITF", "SETUPGRP")
_PART_COLUMNS = ("PART", "ROUTEFILE", "ROUTE")
_ROUTE_COLUMNS = (
    "STEP", "DESC", "STNFAM", "PTIME", "PTIME2", "PTUNITS", "PTPER", "BATCHMN", "BATCHMX", "SETUP", "STIME",
    "STUNITS", "PartInterval", "PartIntUnits", "BatchInterval", "BatchIntUnits", "RWKSTEP", "REWORK", "StepPercent",
)  # fmt: skip
_ORDER_COLUMNS = ("LOT", "PART", "PRIOR", "PIECES", "START", "REPEAT", "RUNITS", "RPT#", "DUE")
_WIP_COLUMNS = ("LOT", "PART", "PRIOR", "PIECES", "CURSTEP", "DUE")
_SETUP_COLUMNS = ("CURSETUP", "NEWSETUP", "STIME", "STUNITS")
_DOWN_COLUMNS = ("DOWNCALNAME", "MTTF", "MTTFUNITS", "MTTR", "MTTRUNITS")
_PM_COLUMNS = ("PMCALNAME", "PMCALTYPE", "MTBPM", "MTBPMUNITS", "MTTR", "MTTR2", "MTTRUNITS")
_ATTACH_COLUMNS = ("CALNAME", "CALTYPE", "RESNAME", "FOA", "FOAUNITS")
_FROMTO_COLUMNS = ("DTIME", "DTIME2", "DUNITS")
_PM_TYPES = {"mtbpm_by_cal": False, "mtbpm_by_pieces": True}


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


def _folder(folder: str | Path) -> Path:
    root = Path(folder)
    try:
        mode = os.stat(root).st_mode
    except FileNotFoundError:
        raise refuse(root, "", "no such file or folder", _FOLDER_EXPECTED) from None
    except (OSError, ValueError) as exc:  # no permission, a name the system cannot take
        raise refuse(root, "", f"cannot be read ({getattr(exc, 'strerror', None) or exc})", _FOLDER_EXPECTED) from None
    if not stat.S_ISDIR(mode):
        kind = "a file" if stat.S_ISREG(mode) else "not a folder"
        raise refuse(root, "", f"{kind}, not a folder (and not named .yaml)", _FOLDER_EXPECTED)
    return root


def _optional(path: Path, columns: tuple[str, ...], what: str) -> list[Row]:
    """The rows of an optional file (none when it is absent); a file that is there but broken is an error."""
    return list(read_table(path, columns, what, rows_required=False)) if os.path.lexists(path) else []


def _halfwidth(row: Row, column: str, halfwidth: float, mean: float, of: str) -> float:
    """A uniform distribution's half-width, at most its mean (times drawn below zero would run the clock back)."""
    if halfwidth > mean:
        raise row.error(column, row.text(column), f"a half-width at most {of} ({mean:g} min): times cannot be negative")
    return halfwidth


class _SetupNames:
    """Setup names numbered in the order first met (routes, then the setup matrix)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._index: dict[str, int] = {}

    def id(self, name: str) -> int:
        if name not in self._index:
            self._index[name] = len(self.names)
            self.names.append(name)
        return self._index[name]


def _families(root: Path) -> list[Family]:
    table = read_table(root / "tool.txt.1l", _TOOL_COLUMNS, "the tool families (STNFAM) and their counts (STNQTY)")
    families = []
    for name, r in table.index("STNFAM").items():
        families.append(
            Family(
                name=name,
                tools=r.integer("STNQTY", high=MAX_TOOLS),
                group=r.text("STNGRP"),
                load_min=r.minutes("LTIME", "LTUNITS", 0.0),
                unload_min=r.minutes("ULTIME", "ULTUNITS", 0.0),
                batching=r.text("BATCHCRITF") != "",
                setup_group=r.text("SETUPGRP"),
            )
        )
    total = sum(f.tools for f in families)
    if total > MAX_TOOLS:
        raise refuse(table.file, "column STNQTY (all lines)", total, f"at most {MAX_TOOLS:,} tools in the fab")
    return families


def _step(r: Row, fam_index: dict[str, int], setups: _SetupNames) -> Step:
    mean = r.minutes("PTIME", "PTUNITS")
    s = Step(
        desc=r.text("DESC"),
        family=r.choice("STNFAM", fam_index, "a tool family (STNFAM) of tool.txt.1l"),
        pt_mean_min=mean,
        pt_halfwidth_min=_halfwidth(r, "PTIME2", r.minutes("PTIME2", "PTUNITS", 0.0), mean, "PTIME"),
        per=r.choice("PTPER", _PER, "how the time counts, one of") if r.text("PTPER") else 1,
    )
    if r.text("BATCHMN"):
        s.batch_min = r.integer("BATCHMN")
        s.batch_max = r.integer("BATCHMX", low=s.batch_min)
    if r.text("SETUP"):
        s.setup = setups.id(r.text("SETUP"))
        s.setup_min = r.minutes("STIME", "STUNITS", 0.0)
    if r.text("PartInterval"):
        s.part_interval_min = r.minutes("PartInterval", "PartIntUnits")
    if r.text("BatchInterval"):
        s.batch_interval_min = r.minutes("BatchInterval", "BatchIntUnits")
    if r.text("StepPercent"):
        s.sample_frac = r.number("StepPercent", strict=True, high=100.0) / 100.0
    return s


def _route(path: Path, what: str, fam_index: dict[str, int], setups: _SetupNames) -> list[Step]:
    table = read_table(path, _ROUTE_COLUMNS, what)
    rows = list(table)
    step_no: dict[int, int] = {}
    for k, r in enumerate(rows):
        n = r.integer("STEP")
        if n in step_no:
            raise r.error("STEP", r.text("STEP"), f"each STEP once (it is given at line {rows[step_no[n]].line})")
        step_no[n] = k
    steps = []
    for r in rows:
        s = _step(r, fam_index, setups)
        if r.text("RWKSTEP"):
            to = r.integer("RWKSTEP")
            if to not in step_no:
                raise r.error("RWKSTEP", r.text("RWKSTEP"), f"a STEP of this route ({min(step_no)}..{max(step_no)})")
            s.rework_step = step_no[to]
            s.rework_frac = r.number("REWORK", 0.0, high=100.0) / 100.0
        steps.append(s)
    return steps


def _routes(root: Path, fam_index: dict[str, int], setups: _SetupNames) -> tuple[list[list[Step]], list[Row]]:
    """The route of each part of part.txt (a route file named by several parts is read once) and the part rows."""
    parts = list(
        read_table(root / "part.txt", _PART_COLUMNS, "the parts (PART) and their route files (ROUTEFILE)")
        .index("PART")
        .values()
    )
    read: dict[str, list[Step]] = {}
    routes = []
    for p in parts:
        name = p.text("ROUTEFILE", required=True)
        if Path(name).name != name or name in (".", ".."):
            raise p.error("ROUTEFILE", name, "the name of a file in the fab folder (no folders in it)")
        if name not in read:
            what = f"the route of part {p.text('PART')!r} (part.txt line {p.line}, column ROUTEFILE)"
            read[name] = _route(root / name, what, fam_index, setups)
        routes.append(read[name])
    return routes, parts


def _orders(root: Path, part_route: dict[str, int]) -> tuple[list[Order], dt.datetime]:
    """The release orders and the epoch (the earliest START), from which every time is counted."""
    rows = list(read_table(root / "order.txt", _ORDER_COLUMNS, "the lot release orders (LOT, PART, START, ...)"))
    starts = [r.when("START") for r in rows]
    epoch = min(starts)
    orders = []
    for r, start in zip(rows, starts, strict=True):
        due = r.when("DUE")
        if due < start:
            raise r.error("DUE", r.text("DUE"), f"a due date not before START ({r.text('START')})")
        orders.append(
            Order(
                name=r.text("LOT", required=True),
                route=r.choice("PART", part_route, "a PART of part.txt"),
                priority=r.integer("PRIOR", low=0),
                pieces=r.integer("PIECES"),
                start_min=(start - epoch).total_seconds() / 60,
                interval_min=r.minutes("REPEAT", "RUNITS", strict=True),
                count=r.integer("RPT#", low=0),
                due_offset_min=(due - start).total_seconds() / 60,
            )
        )
    return orders, epoch


def _wip(root: Path, part_route: dict[str, int], routes: list[list[Step]], epoch: dt.datetime) -> list[WipLot]:
    wip = []
    for r in _optional(root / "WIP.txt", _WIP_COLUMNS, "the lots in the fab at the start (initial WIP)"):
        route = r.choice("PART", part_route, "a PART of part.txt")
        wip.append(
            WipLot(
                name=r.text("LOT", required=True),
                route=route,
                priority=r.integer("PRIOR", low=0),
                pieces=r.integer("PIECES"),
                step=r.integer("CURSTEP", high=len(routes[route])) - 1,
                due_min=(r.when("DUE") - epoch).total_seconds() / 60,
            )
        )
    return wip


def _setup_matrix(root: Path, setups: _SetupNames) -> dict[tuple[int, int], float]:
    """Sequence-dependent setup times; an empty CURSETUP repeats the one above (as the testbed's file is read)."""
    matrix: dict[tuple[int, int], float] = {}
    current = ""
    for r in _optional(root / "setup.txt", _SETUP_COLUMNS, "the setup times from one setup to another"):
        current = r.text("CURSETUP") or current
        if r.text("NEWSETUP"):
            t = r.minutes("STIME", "STUNITS")
            matrix[(setups.id(current) if current else -1, setups.id(r.text("NEWSETUP")))] = t
    return matrix


def _downs(root: Path) -> dict[str, tuple[float, float]]:
    """Down calendars by name: (MTTF, MTTR) in minutes."""
    rows = _optional(root / "downcal.txt", _DOWN_COLUMNS, "the unplanned down calendars (MTTF, MTTR)")
    downs = {}
    for r in rows:
        name = r.text("DOWNCALNAME", required=True)
        if name in downs:
            raise r.error("DOWNCALNAME", name, "each DOWNCALNAME once")
        downs[name] = (
            r.minutes("MTTF", "MTTFUNITS", strict=True, unit_default=None),
            r.minutes("MTTR", "MTTRUNITS", unit_default=None),
        )
    return downs


def _pm(r: Row, c: Row, family: int) -> Pm:
    """The PM of calendar row ``c`` (pmcal.txt) attached by row ``r`` (attach.txt) to a family."""
    by_pieces = c.choice("PMCALTYPE", _PM_TYPES, "a PM calendar type, one of") if c.text("PMCALTYPE") else False
    if by_pieces:  # counter PMs: wafers processed (FOA in pieces, no unit)
        first, every = r.number("FOA"), c.number("MTBPM", strict=True)
    else:  # calendar PMs: times
        first, every = r.minutes("FOA", "FOAUNITS"), c.minutes("MTBPM", "MTBPMUNITS", strict=True)
    mean = c.minutes("MTTR", "MTTRUNITS")
    return Pm(
        family=family,
        by_pieces=by_pieces,
        first=first,
        every=every,
        mean_min=mean,
        halfwidth_min=_halfwidth(c, "MTTR2", c.minutes("MTTR2", "MTTRUNITS", 0.0), mean, "MTTR"),
    )


def _calendars(root: Path, families: list[Family]) -> tuple[dict[str, tuple[float, float]], list[Pm]]:
    """Downs by station group and PMs by family, as attach.txt attaches the calendars."""
    downs = _downs(root)
    pmcal = {}
    if os.path.lexists(root / "pmcal.txt"):
        pmcal = read_table(root / "pmcal.txt", _PM_COLUMNS, "the PM calendars", rows_required=False).index("PMCALNAME")
    fam_index = {f.name: i for i, f in enumerate(families)}
    groups = {f.group: f.group for f in families if f.group}
    group_downs: dict[str, tuple[float, float]] = {}
    pms: list[Pm] = []
    for r in _optional(root / "attach.txt", _ATTACH_COLUMNS, "the calendars attached to tools"):
        if r.choice("CALTYPE", {"down": "down", "pm": "pm"}, "a calendar type, one of") == "down":
            cal = r.choice("CALNAME", downs, "a DOWNCALNAME of downcal.txt")
            group_downs[r.choice("RESNAME", groups, "a station group (STNGRP) of tool.txt.1l")] = cal
        else:
            c = r.choice("CALNAME", pmcal, "a PMCALNAME of pmcal.txt")
            pms.append(_pm(r, c, r.choice("RESNAME", fam_index, "a tool family (STNFAM) of tool.txt.1l")))
    return group_downs, pms


def _transport(root: Path) -> tuple[float, float]:
    rows = _optional(root / "fromto.txt", _FROMTO_COLUMNS, "the transport time between locations")
    if not rows:
        return (0.0, 0.0)
    r = rows[0]
    mean = r.minutes("DTIME", "DUNITS", unit_default=None)
    return mean, _halfwidth(r, "DTIME2", r.minutes("DTIME2", "DUNITS", 0.0, unit_default=None), mean, "DTIME")


def load_fab(folder: str | Path) -> FabModel:
    """Load an SMT2020-style folder (tool.txt.1l, part.txt, route_*.txt, order.txt, WIP.txt, calendars).

    Raises
    ------
    FabFormatError
        The folder is missing or not a folder, or a file in it is missing (one of the four required), unreadable,
        not an ordinary file, larger than :data:`~.tables.MAX_TABLE_BYTES`, not UTF-8, lacks a column, or holds a
        value that cannot be used; the message names the file, line, column, value and what was expected.
    """
    root = _folder(folder)
    families = _families(root)
    fam_index = {f.name: i for i, f in enumerate(families)}
    setups = _SetupNames()
    routes, parts = _routes(root, fam_index, setups)
    part_route = {p.text("PART"): i for i, p in enumerate(parts)}
    orders, epoch = _orders(root, part_route)
    wip = _wip(root, part_route, routes, epoch)
    matrix = _setup_matrix(root, setups)
    downs, pms = _calendars(root, families)
    return FabModel(
        families=families,
        routes=routes,
        route_names=[p.text("ROUTE") for p in parts],
        products=list(part_route),
        orders=orders,
        wip=wip,
        setup_names=setups.names,
        setup_matrix=matrix,
        downs=downs,
        pms=pms,
        transport_min=_transport(root),
        folder=str(root),
    )
