"""A scenario's uncertain inputs: which fields a distribution may stand for, checked against each field's own rules,
and the median data every other check runs on.

A distribution may stand for any number or month of the scenario's sections (the field's type, read from the
pydantic models, decides which): a count field (``construction_months``, ``accelerators``) draws whole numbers, a
month field (``from``, ``start``, ``construction_start``) a month distribution. Names, flags, sections and lists
are refused, and so is the horizon (it fixes the months every draw shares). Each distribution's extremes (its
lowest and highest values; the 0.1% and 99.9% quantiles when unbounded) must be valid values of the field, so a
triangular ``low: -5`` for a power is refused where it is written, not in some draw.

:func:`read_uncertain` does this for :func:`~fab2token.scenario.load.parse_scenario`: it returns the data with every
distribution replaced by its median (a distribution that cannot be used by :data:`PLACEHOLDER`, whose own errors
the caller drops), the :class:`UncertainInputs` read and every problem found.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, BeforeValidator, TypeAdapter, ValidationError

from fab2token.errors import InputIssue
from fab2token.options import MAX_MAGNITUDE
from fab2token.scenario.copula import CORRELATIONS_KEY, Correlation, read_correlations
from fab2token.scenario.distributions import (
    TAIL_Q,
    Dist,
    distribution_issues,
    iter_specs,
    replace_distributions,
    sample,
)
from fab2token.scenario.fields import _year_month
from fab2token.scenario.models import Fab, Scenario, Supply

__all__ = ["UncertainInputs", "NO_UNCERTAINTY", "PLACEHOLDER", "read_uncertain", "uncertain_inputs"]


@dataclass(frozen=True)
class UncertainInputs:
    """The distributions of a scenario, by the path the scenario writes, and the rank correlations between them."""

    dists: Mapping[str, Dist] = field(default_factory=dict)
    correlations: tuple[Correlation, ...] = ()

    def __len__(self) -> int:
        return len(self.dists)

    def sample(self, n: int, seed: int = 0) -> dict[str, np.ndarray]:
        """``n`` draws of every input (see :func:`~fab2token.scenario.distributions.sample`)."""
        return sample(self.dists, n, seed, self.correlations)


NO_UNCERTAINTY = UncertainInputs()


class _Placeholder(float):
    """Stands where a distribution cannot be used: a NaN every numeric, month, text or flag field refuses."""


PLACEHOLDER = _Placeholder("nan")


def uncertain_inputs(sc: Scenario) -> UncertainInputs:
    """The uncertain inputs of a scenario read by :func:`~fab2token.scenario.load.parse_scenario` (none for a
    deterministic scenario or one built directly)."""
    found = sc._distributions
    return found if isinstance(found, UncertainInputs) else NO_UNCERTAINTY


def read_uncertain(
    data: dict[str, Any], file: str, q: float = 0.5
) -> tuple[dict[str, Any], UncertainInputs, list[InputIssue]]:
    """Scenario data -> (its data with every input at its ``q``-quantile, the median by default; its uncertain
    inputs; every problem with them).

    Data without distributions or ``correlations`` comes back as it is.
    """
    if CORRELATIONS_KEY not in data and next(iter_specs(data), None) is None:
        return data, NO_UNCERTAINTY, []
    dists, issues = distribution_issues(data, file)
    parts = {path: p for path, p, _ in iter_specs(data)}
    usable: dict[str, Dist] = {}
    for path, dist in dists.items():
        typed, problem = _fit_to_field(parts[path], dist)
        if problem is None:
            usable[path] = typed
        else:
            issues.append(InputIssue(file, path, _spec_at(data, parts[path]), problem))
    correlations, corr_issues = read_correlations(data.get(CORRELATIONS_KEY), parts, file)
    issues += corr_issues
    if set(p for c in correlations for p in c.between) - set(usable):
        correlations = ()  # a correlated input is already reported; the copula waits until it can be used
    at_q = replace_distributions(data, lambda path, _: usable[path].quantile(q) if path in usable else PLACEHOLDER)
    return at_q, UncertainInputs(usable, correlations), issues


def _spec_at(data: Any, parts: tuple[object, ...]) -> Any:
    for part in parts:
        data = data[part]
    return data


# ---------------------------------------------------------------------------------------------------------------
# What a field holds, read from the models' annotations


@dataclass(frozen=True)
class _Slot:
    kind: str  # "number", "whole", "month", "any" (a catalog value) or what the field is instead ("a name", ...)
    key: tuple[object, ...] = ()  # (model, field name, steps into lists/mappings): the validator's cache key
    annotation: Any = None


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """``Optional[Annotated[T, m...]]`` -> ``(T, [m...])``."""
    meta: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *more = get_args(annotation)
            meta += more
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation, meta
            annotation = args[0]
        else:
            return annotation, meta


def _field_names(model: type[BaseModel]) -> dict[str, str]:
    return {(info.alias or name): name for name, info in model.model_fields.items()} | {
        name: name for name in model.model_fields
    }


def _slot(parts: tuple[object, ...]) -> _Slot | None:
    """What the field at ``parts`` holds; None where the models have no such field (pydantic reports it)."""
    annotation: Any = Scenario
    key: tuple[object, ...] = ()
    for part in parts:
        base, _ = _strip(annotation)
        if isinstance(base, type) and issubclass(base, BaseModel):
            if base is Supply and part not in _field_names(Supply) and part in _field_names(Fab):
                base = Fab  # the fab's fields written directly under supply
            name = _field_names(base).get(part) if isinstance(part, str) else None
            if name is None:
                return None
            info = base.model_fields[name]
            annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
            key = (base, name)
        elif get_origin(base) is list and isinstance(part, int):
            annotation, key = get_args(base)[0], (*key, "item")
        elif get_origin(base) is dict and isinstance(part, str):
            annotation, key = get_args(base)[1], (*key, "value")
        elif base is Any:
            return _Slot("any")
        else:
            return None
    return _Slot(_kind(annotation), key, annotation)


def _kind(annotation: Any) -> str:
    base, meta = _strip(annotation)
    if any(isinstance(m, BeforeValidator) and m.func is _year_month for m in meta):
        return "month"
    if base is Any:
        return "any"
    if base is bool:
        return "a flag (true or false)"
    if base is int:
        return "whole"
    if base is float:
        return "number"
    if get_origin(base) is Literal:
        return f"a name (one of {', '.join(map(str, get_args(base)))})"
    if base is str:
        return "text (a name)"
    if isinstance(base, type) and issubclass(base, BaseModel):
        return "a section"
    if get_origin(base) in (Union, types.UnionType) and float in get_args(base):
        return "number"  # a number or a word (a target's mfu: search): a distribution stands for the number
    return "a list or a mapping" if get_origin(base) in (list, dict) else "not a number"


_ADAPTERS: dict[tuple[object, ...], TypeAdapter[Any]] = {}


def _fit_to_field(parts: tuple[object, ...], dist: Dist) -> tuple[Dist, str | None]:
    """The distribution as its field needs it (whole numbers for a count), or what is wrong with it there."""
    if parts[0] == "horizon":
        return dist, "a plain value: the horizon fixes the months every draw shares"
    slot = _slot(parts)
    if slot is None or slot.kind == "any":
        return dist, None  # an unknown field is pydantic's to report; a catalog value is checked by the catalog
    if slot.kind == "month" and not dist.month:
        return dist, "a month distribution here (uniform_month, triangular_month, or choice of YYYY-MM months)"
    if slot.kind in ("number", "whole") and dist.month:
        return dist, "a distribution of numbers here: this field is a number, not a month"
    if slot.kind not in ("month", "number", "whole"):
        return dist, f"a plain value: a distribution stands for a number or a month, and this field is {slot.kind}"
    if slot.kind == "whole":
        dist = dataclasses.replace(dist, whole=True)
    return dist, _extremes_problem(slot, dist)


def _extremes_problem(slot: _Slot, dist: Dist) -> str | None:
    """What is wrong with the distribution's lowest or highest value as a value of the field (None: nothing)."""
    adapter = _ADAPTERS.get(slot.key)
    if adapter is None:
        adapter = _ADAPTERS[slot.key] = TypeAdapter(slot.annotation)
    which = (
        ("lowest value", "highest value") if dist.bounded else (f"{TAIL_Q:.1%} quantile", f"{1 - TAIL_Q:.1%} quantile")
    )
    for name, value in zip(which, dist.extremes(), strict=True):
        shown = f"{value:.6g}" if isinstance(value, float) else value
        hint = "" if dist.bounded else "; or a bounded distribution (triangular, uniform)"
        if isinstance(value, float) and not abs(value) <= MAX_MAGNITUDE:
            return f"a distribution within the field's range: its {name} is {shown}{hint}"
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
            return f"a distribution within the field's range: its {name} {shown} is not valid here ({reason}){hint}"
    return None
