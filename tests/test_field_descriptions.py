"""Every scenario field has a description (the docstring under it): the generated scenario reference
(docs/reference/scenario.md) reads them, so a field added without one fails here."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel

from fab2token.scenario.fields import describe_models
from fab2token.scenario.models import Scenario

describe_models()  # descriptions are read on demand (what shows them calls this)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds: ``X``, ``list[X]``, ``X | None``, ``dict[str, X]``, unions and
    ``Annotated[X, ...]``, at any depth."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def reachable_models(root: type[BaseModel] = Scenario) -> list[type[BaseModel]]:
    """Every model reachable from ``root`` through its fields, ``root`` first, each once."""
    seen: list[type[BaseModel]] = [root]
    for model in seen:  # grows while walked: breadth first
        for info in model.model_fields.values():
            seen += [m for m in _models_in(info.annotation) if m not in seen]
    return seen


def test_walk_reaches_nested_lists_and_unions() -> None:
    names = {m.__name__ for m in reachable_models()}
    # nested (Supply.fab), in lists (sites), behind None (workloads.inference), a forward reference (fleet[].supply)
    # and two levels down a list (fleet[].market.orders[])
    assert {"Supply", "Fab", "Site", "Curtailment", "Inference", "FleetType", "OrderStep", "CountStep"} <= names


def test_every_scenario_field_has_a_description() -> None:
    missing = [
        f"{model.__name__}.{name}"
        for model in reachable_models()
        for name, info in model.model_fields.items()
        if not (info.description or "").strip()
    ]
    assert not missing, f"{len(missing)} scenario fields have no description (a docstring under the field): " + (
        ", ".join(missing)
    )


def test_descriptions_are_one_line() -> None:
    long = [
        f"{model.__name__}.{name}"
        for model in reachable_models()
        for name, info in model.model_fields.items()
        if "\n" in (info.description or "")
    ]
    assert not long, f"descriptions should be one line (they fill one table cell): {', '.join(long)}"
