"""Scenario field types: months written ``YYYY-MM`` and quantities with units, converted once at the boundary.

Every number of every section is finite and of bounded magnitude (:class:`_Model`): ``.inf``, ``.nan`` and
``1e308`` are refused where they are read, with the field's path, instead of turning into ``inf``/``nan`` results.
"""

from __future__ import annotations

import ast
import datetime as _dt
import inspect
import math
import re
import sys
from collections.abc import Callable
from typing import Annotated, Any, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from fab2token.options import MAX_COUNT, MAX_MAGNITUDE
from fab2token.units import to_unit

__all__ = [
    "month_number",
    "month_label",
    "YearMonth",
    "MW",
    "USD",
    "USDPerMWh",
    "USDPerMW",
    "USDPerMWYear",
    "MIN_YEAR",
    "MAX_YEAR",
    "MAX_MAGNITUDE",
    "MAX_COUNT",
    "MAX_WAFER_DIAMETER_MM",
    "MIN_AIR_C",
    "MAX_AIR_C",
    "AirC",
]

# Months a scenario may name. The earliest input any section names is the past of a build-out: an installed base's
# ``since`` or a process node's launch, which for any accelerator modelled here is well after 1970 (the first
# microprocessor shipped in 1971). 2200 leaves a 100-year horizon (horizon.months <= 1200) started as late as 2100.
MIN_YEAR = 1970
MAX_YEAR = 2200
# the bounds on magnitude are shared with the look-ups' options (one definition, in fab2token.options)
# Largest wafer: 450 mm is the largest diameter ever standardised (SEMI M1; no fab runs it); 300 mm is today's.
MAX_WAFER_DIAMETER_MM = 450.0
# Air temperatures a site can see: the lowest and highest ever recorded at the surface (-89.2 °C at Vostok, 1983;
# 56.7 °C at Death Valley, 1913; WMO archive), widened to round figures.
MIN_AIR_C = -90.0
MAX_AIR_C = 65.0

_YM = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEARS = f"a year in {MIN_YEAR}..{MAX_YEAR}"


def _year_month(value: Any) -> str:
    if isinstance(value, _dt.date):
        year, month = value.year, value.month
    elif isinstance(value, str) and (m := _YM.match(value.strip())) and 1 <= int(m.group(2)) <= 12:
        year, month = int(m.group(1)), int(m.group(2))
    else:
        raise ValueError("expected a month written YYYY-MM, e.g. '2026-01'")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"expected a month written YYYY-MM in {_YEARS}, e.g. '2026-01'")
    return f"{year:04d}-{month:02d}"


def month_number(ym: str) -> int:
    """Months since year 0 for a ``YYYY-MM`` label (so differences are month counts)."""
    y, m = ym.split("-")
    return int(y) * 12 + int(m) - 1


def month_label(n: int) -> str:
    """Inverse of :func:`month_number`."""
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def _quantity(unit: str) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        out = to_unit(value, unit)
        if not math.isfinite(out):
            raise ValueError(f"expected a finite quantity in {unit}")
        return out

    return convert


YearMonth = Annotated[str, BeforeValidator(_year_month)]
MW = Annotated[float, BeforeValidator(_quantity("MW")), Field(ge=0)]
USD = Annotated[float, BeforeValidator(_quantity("USD")), Field(ge=0)]
USDPerMWh = Annotated[float, BeforeValidator(_quantity("USD/MWh")), Field(ge=0)]
USDPerMW = Annotated[float, BeforeValidator(_quantity("USD/MW")), Field(ge=0)]
USDPerMWYear = Annotated[float, BeforeValidator(_quantity("USD/MW/year")), Field(ge=0)]
Acres = Annotated[float, BeforeValidator(_quantity("acre")), Field(gt=0)]
Millimetres = Annotated[float, BeforeValidator(_quantity("mm"))]
SquareMillimetres = Annotated[float, BeforeValidator(_quantity("mm**2")), Field(gt=0)]
PerCm2 = Annotated[float, BeforeValidator(_quantity("1/cm**2")), Field(ge=0)]
AirC = Annotated[float, Field(ge=MIN_AIR_C, le=MAX_AIR_C)]  # an air (dry-bulb, wet-bulb or dew-point) temperature


def _hour(value: Any) -> str:
    when = None
    if isinstance(value, _dt.datetime):
        when = value
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2})(:00)?(:00)?\s*", value)
        if m:
            try:
                when = _dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]))
            except ValueError:
                pass
    if when is None or not MIN_YEAR <= when.year <= MAX_YEAR:
        raise ValueError(f"expected a date and hour written YYYY-MM-DD HH:00 in {_YEARS}, e.g. '2026-07-15 14:00'")
    return when.strftime("%Y-%m-%dT%H")


def _out_of_bounds(value: Any) -> str | None:
    """What is wrong with a number that no field may hold (None when nothing is)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) > MAX_COUNT:
        return f"a whole number of magnitude at most 2**53 ({MAX_COUNT:,})"
    if isinstance(value, float) and abs(value) > MAX_MAGNITUDE:
        return f"a number of magnitude at most {MAX_MAGNITUDE:g}"
    return None


_MODELS: list[type[BaseModel]] = []  # every scenario model, in the order its class was made


def _attribute_docstrings(node: ast.ClassDef) -> dict[str, str]:
    """A class body's field docstrings: the string literal right after each annotated field."""
    out: dict[str, str] = {}
    body = node.body
    for stmt, nxt in zip(body, body[1:], strict=False):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            out[stmt.target.id] = inspect.cleandoc(nxt.value.value)
    return out


_DESCRIBED: set[type[BaseModel]] = set()


def describe_models() -> None:
    """Give every scenario model's fields their descriptions, the docstring under each field (as pydantic's
    ``use_attribute_docstrings`` would), then rebuild the models so their JSON Schema carries them. Called by what
    shows descriptions (``fab2token schema``, the generated reference); validation never needs them. Models made
    since the last call (the race file's, imported later) are described on the next."""
    if _DESCRIBED.issuperset(_MODELS):
        return
    trees: dict[str, ast.Module] = {}

    def own(cls: type) -> dict[str, str]:
        if cls.__module__ not in trees:
            trees[cls.__module__] = ast.parse(inspect.getsource(sys.modules[cls.__module__]))
        node = next(
            (n for n in ast.walk(trees[cls.__module__]) if isinstance(n, ast.ClassDef) and n.name == cls.__name__),
            None,
        )
        return _attribute_docstrings(node) if node is not None else {}

    for cls in list(_MODELS):
        docs: dict[str, str] = {}
        for base in reversed([b for b in cls.__mro__ if b in _MODELS]):  # a field inherited keeps its docstring
            docs |= own(base)
        for name, info in cls.model_fields.items():
            if info.description is None and name in docs:
                info.description = docs[name]
        _DESCRIBED.add(cls)
    # rebuilt children first (the order they were made), so each parent's schema takes its children's; a forward
    # reference (fleet[].supply, made before Supply) puts a parent first, so again until no schema changes
    before = None
    for _ in range(len(_MODELS)):
        for cls in list(_MODELS):
            cls.model_rebuild(force=True)
        after = [cls.model_json_schema() for cls in _MODELS]
        if after == before:
            break
        before = after


class _Model(BaseModel):
    """Every scenario section: unknown keys are errors, fields may be written by alias, values are frozen.

    Numbers are finite (``allow_inf_nan=False``: ``.inf``/``.nan`` are refused with "a finite number") and within
    :data:`MAX_MAGNITUDE` (whole numbers within :data:`MAX_COUNT`), in lists too.
    """

    # a string literal on the line after a field is its description: read on demand by describe_models() (the
    # JSON Schema, the generated reference), not at class creation, where pydantic's use_attribute_docstrings reads
    # each class's source through its frames (0.2 s of every command that reads a scenario)
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, allow_inf_nan=False)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _MODELS.append(cls)

    @field_validator("*", mode="before")
    @classmethod
    def _no_flag_for_number(cls, value: Any, info: ValidationInfo) -> Any:
        """``true``/``false`` where a number is expected is an error (pydantic would read it as 1 or 0)."""
        items = value if isinstance(value, list) else (value,)
        if any(isinstance(v, bool) for v in items) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            if annotation is not bool and bool not in get_args(annotation):
                raise ValueError("expected a number or text, not true/false")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else (value,)
        for item in items:
            problem = _out_of_bounds(item)
            if problem is not None:
                raise ValueError(f"expected {problem}")
        return value
