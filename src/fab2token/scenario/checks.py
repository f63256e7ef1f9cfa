"""Cross-checks of a validated scenario that one field alone cannot make: months in order, names that must exist
(sites, models, campuses), files a site names, racks within the cooling's limit. Each problem is an
:class:`~fab2token.errors.InputIssue` with the file, the field path, the value and what was expected."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, get_args

from pydantic import BaseModel

from fab2token import catalog
from fab2token.errors import CatalogError, InputIssue
from fab2token.scenario.files import input_path, read_weather_csv
from fab2token.scenario.models import Scenario, month_number
from fab2token.scenario.runcheck import catalog_override_issues, runnable_issues

__all__ = ["semantic_issues", "loc", "expected", "fields_at"]


def loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (``X``, ``X | None``, ``list[X]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def fields_at(path: tuple[Any, ...], root: type[BaseModel] = Scenario) -> list[str] | None:
    """The field names (as written in a file: aliases) of the section at ``path`` below ``root``; None when the
    path does not lead to a section."""
    model: type[BaseModel] | None = root
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model else None
        if field is None:
            field = next((f for f in model.model_fields.values() if f.alias == part), None) if model else None
        model = _model_in(field.annotation) if field is not None else None
        if model is None:
            return None
    return [f.alias or name for name, f in model.model_fields.items()] if model else None


# an unknown field's message lists the section's fields when they are this few (else names the reference page)
_FIELDS_LISTED = 12
_REFERENCE = "the scenario reference (docs/reference/scenario.md)"


def _unknown_field(path: tuple[Any, ...]) -> str:
    names = fields_at(path[:-1])
    if not names:
        return f"unknown field: check its spelling against {_REFERENCE}"
    close = difflib.get_close_matches(str(path[-1]), names, n=1, cutoff=0.6)
    if close:
        return f"unknown field: did you mean {close[0]}?"
    if len(names) <= _FIELDS_LISTED:
        return f"unknown field: the fields here are {', '.join(names)}"
    return f"unknown field: none of this section's {len(names)} fields is close; see {_REFERENCE}"


def expected(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "missing":
        return "this field is required"
    if kind == "extra_forbidden":
        return _unknown_field(tuple(err["loc"]))
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    return msg[0].lower() + msg[1:] if msg else kind


def _ordered(file: str, steps: list[Any], path: str) -> list[InputIssue]:
    """Step schedules must be in increasing month order."""
    return [
        InputIssue(
            file,
            f"{path}[{i}].from",
            steps[i].from_,
            f"steps must be in increasing month order (after {steps[i - 1].from_})",
        )
        for i in range(1, len(steps))
        if month_number(steps[i].from_) <= month_number(steps[i - 1].from_)
    ]


def _weather_issues(file: str, sc: Scenario) -> list[InputIssue]:
    """Each site's weather file, read once here (relative to the scenario file) and handed on as data."""
    issues: list[InputIssue] = []
    for i, site in enumerate(sc.sites):
        if site.weather_csv is None:
            continue
        path = input_path(site.weather_csv, file)
        try:
            hours = read_weather_csv(path)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            issues.append(
                InputIssue(
                    file,
                    f"sites[{i}].weather_csv",
                    site.weather_csv,
                    f"a readable CSV with a dry_bulb_c column of 8760 hourly values ({exc})",
                )
            )
            continue
        site._weather_dry_bulb_c = hours  # read once here, handed on as data: the engine never opens the file
        site._weather_path = str(path)

    return issues


def _campus_issues(file: str, sc: Scenario) -> list[InputIssue]:
    """Campuses name existing sites, each once."""
    issues: list[InputIssue] = []
    known_sites = [s.name for s in sc.sites]
    for i, campus in enumerate(sc.campuses):
        for j, name in enumerate(campus.sites):
            if name not in known_sites:
                issues.append(
                    InputIssue(file, f"campuses[{i}].sites[{j}]", name, f"one of the sites: {', '.join(known_sites)}")
                )
        if len(set(campus.sites)) != len(campus.sites):
            issues.append(InputIssue(file, f"campuses[{i}].sites", campus.sites, "each site once"))

    return issues


def semantic_issues(file: str, sc: Scenario) -> list[InputIssue]:
    issues: list[InputIssue] = []

    issues += _weather_issues(file, sc)
    issues += _campus_issues(file, sc)
    overrides = catalog_override_issues(file, sc)
    issues += overrides
    issues += _supply_and_workload_issues(file, sc, check_accelerator=not issues)
    issues += _target_issues(file, sc)
    issues += _site_issues(file, sc)
    issues += _operations_issues(file, sc)
    if not overrides:  # the engine's needs, resolved against sound overrides only
        issues += runnable_issues(file, sc)
    return issues


def _operations_issues(file: str, sc: Scenario) -> list[InputIssue]:
    """An outage names a site of the scenario."""
    names = [s.name for s in sc.sites]
    ops = sc.operations
    return [
        InputIssue(file, f"operations.outages[{i}].site", o.site, f"one of the sites: {', '.join(names)}")
        for i, o in enumerate(ops.outages if ops is not None else [])
        if o.site not in names
    ]


def _supply_and_workload_issues(file: str, sc: Scenario, check_accelerator: bool) -> list[InputIssue]:
    """The accelerator is in the catalog, supply schedules run forward, workloads name catalog models."""
    issues: list[InputIssue] = []
    if check_accelerator:  # only once the catalog overrides are sound
        try:
            sc.accelerator_spec()
        except CatalogError as exc:
            issues.append(
                InputIssue(
                    file,
                    "supply.accelerator",
                    sc.supply.accelerator,
                    str(exc).split("; ", 1)[-1].replace("known:", "expected an accelerator from the catalog:"),
                )
            )
    issues += _supply_schedule_issues(file, sc.supply, "supply")
    for i, run in enumerate(sc.workloads.training):
        _check_model(issues, file, sc, f"workloads.training[{i}].model", run.model)
    if sc.workloads.inference is not None:
        _check_model(issues, file, sc, "workloads.inference.model", sc.workloads.inference.model)
        issues += _ordered(file, sc.workloads.inference.demand, "workloads.inference.demand")
    site_names = {s.name for s in sc.sites}
    for i, t in enumerate(sc.targets.training):
        _check_model(issues, file, sc, f"targets.training[{i}].model", t.model)
        if t.site is not None and t.site not in site_names:
            issues.append(
                InputIssue(
                    file,
                    f"targets.training[{i}].site",
                    t.site,
                    f"one of the scenario's sites: {', '.join(sorted(site_names))}",
                )
            )
    return issues


def _supply_schedule_issues(file: str, sup: Any, prefix: str) -> list[InputIssue]:
    """A supply chain's schedules (``supply:`` or an own design's in the fleet) run forward in time."""
    issues: list[InputIssue] = []
    if sup.fab.wafer_starts:
        issues += _ordered(file, sup.fab.wafer_starts, f"{prefix}.fab.wafer_starts")
    for name in ("supply_stacks_per_month", "world_supply_stacks_per_month"):
        if getattr(sup.hbm, name):
            issues += _ordered(file, getattr(sup.hbm, name), f"{prefix}.hbm.{name}")
    if sup.packaging.capacity_wafers_per_month:
        issues += _ordered(
            file, sup.packaging.capacity_wafers_per_month, f"{prefix}.packaging.capacity_wafers_per_month"
        )
    return issues


def _target_issues(file: str, sc: Scenario) -> list[InputIssue]:
    """Planning targets and the fleet: known accelerators, an inference model for a demand target."""
    issues: list[InputIssue] = []
    main_acc = None
    try:
        main_acc = sc.accelerator_spec()["name"]
    except CatalogError:
        pass
    for i, opt in enumerate(sc.targets.accelerator_options):
        path = f"targets.accelerator_options[{i}]"
        try:
            name = catalog.lookup("accelerators", opt.accelerator, sc.catalog.get("accelerators"))["name"]
            if name == main_acc:
                issues.append(
                    InputIssue(
                        file,
                        f"{path}.accelerator",
                        opt.accelerator,
                        "an accelerator other than supply.accelerator (that one has its supply chain)",
                    )
                )
        except CatalogError as exc:
            issues.append(
                InputIssue(
                    file,
                    f"{path}.accelerator",
                    opt.accelerator,
                    str(exc).split("; ", 1)[-1].replace("known:", "expected an accelerator from the catalog:"),
                )
            )
        issues += _ordered(file, opt.available, f"{path}.available")
    if sc.targets.inference_demand:
        issues += _ordered(file, sc.targets.inference_demand, "targets.inference_demand")
        if sc.workloads.inference is None:
            issues.append(
                InputIssue(
                    file,
                    "targets.inference_demand",
                    "(set)",
                    "workloads.inference too (model, precision, SLOs) to size the serving rate",
                )
            )
    issues.extend(_fleet_issues(file, sc, main_acc))
    return issues


def _site_issues(file: str, sc: Scenario) -> list[InputIssue]:
    """Unique site and run names, schedules forward, racks within the cooling's limit."""
    issues: list[InputIssue] = []
    names = [r.name for r in sc.workloads.training]
    for i, n in enumerate(names):
        if n in names[:i]:
            issues.append(InputIssue(file, f"workloads.training[{i}].name", n, "a unique training run name"))
    seen: dict[str, int] = {}
    for i, site in enumerate(sc.sites):
        if site.name in seen:
            issues.append(
                InputIssue(
                    file, f"sites[{i}].name", site.name, f"a unique site name (sites[{seen[site.name]}] has it already)"
                )
            )
        seen.setdefault(site.name, i)
        issues += _ordered(file, site.grid_power, f"sites[{i}].grid_power")
        if site.onsite_power:
            issues += _ordered(file, site.onsite_power, f"sites[{i}].onsite_power")
        limit = site.max_rack_kw if site.max_rack_kw is not None else _cooling_max_rack_kw(site.cooling)
        if site.rack_kw is not None and limit is not None and site.rack_kw > limit:
            issues.append(
                InputIssue(
                    file,
                    f"sites[{i}].rack_kw",
                    site.rack_kw,
                    f"at most {limit:g} kW per rack: the {site.cooling} cooling of site "
                    f"{site.name!r} supports no denser racks (raise max_rack_kw or change cooling)",
                )
            )
    return issues


def _accelerator_name(sc: Scenario, name: str) -> str:
    return str(catalog.lookup("accelerators", name, sc.catalog.get("accelerators"))["name"])


def _fleet_issues(file: str, sc: Scenario, main_acc: str | None) -> list[InputIssue]:
    """The fleet section: known, distinct accelerator types, each with a source; installed bases at real sites, in
    service by the horizon's start; training runs on a type the fleet has."""
    issues: list[InputIssue] = []
    site_names = {s.name for s in sc.sites}
    types = {main_acc} if main_acc else set()
    listed: dict[str, int] = {}
    for i, ft in enumerate(sc.fleet):
        path = f"fleet[{i}]"
        try:
            name = _accelerator_name(sc, ft.accelerator)
        except CatalogError as exc:
            expected = str(exc).split("; ", 1)[-1].replace("known:", "expected an accelerator from the catalog:")
            issues.append(InputIssue(file, f"{path}.accelerator", ft.accelerator, expected))
            continue
        if name in listed:
            issues.append(
                InputIssue(
                    file, f"{path}.accelerator", ft.accelerator, f"one entry per type (fleet[{listed[name]}] is {name})"
                )
            )
        listed.setdefault(name, i)
        types.add(name)
        if ft.market is None and not ft.installed and ft.supply is None and name != main_acc:
            issues.append(
                InputIssue(
                    file,
                    path,
                    ft.accelerator,
                    "a source: market (orders, price), installed (an installed base), supply (an own design's "
                    "chain) or supply.accelerator",
                )
            )
        issues += _own_design_issues(file, sc, ft, path, name, main_acc)
        issues += _deployment_issues(file, ft, path, site_names)
        if ft.market is not None:
            issues += _ordered(file, ft.market.orders, f"{path}.market.orders")
        issues += _installed_issues(file, sc, ft, path, site_names)
    for i, opt in enumerate(sc.targets.accelerator_options):
        if _known_accelerator(sc, opt.accelerator) and _accelerator_name(sc, opt.accelerator) in listed:
            issues.append(
                InputIssue(
                    file,
                    f"targets.accelerator_options[{i}].accelerator",
                    opt.accelerator,
                    f"a type the fleet does not list (fleet[{listed[_accelerator_name(sc, opt.accelerator)]}] "
                    "has it: its orders are given, the plan buys options)",
                )
            )
    for i, run in enumerate(sc.workloads.training):
        if run.accelerator is None:
            continue
        name = _accelerator_name(sc, run.accelerator) if _known_accelerator(sc, run.accelerator) else None
        if name not in types:
            issues.append(
                InputIssue(
                    file,
                    f"workloads.training[{i}].accelerator",
                    run.accelerator,
                    f"an accelerator type of the fleet: {', '.join(sorted(types))}",
                )
            )
    return issues


def _installed_issues(file: str, sc: Scenario, ft: Any, path: str, site_names: set[str]) -> list[InputIssue]:
    """An installed base sits at one of the scenario's sites, in service by the horizon's start."""
    issues: list[InputIssue] = []
    for j, base in enumerate(ft.installed):
        if base.site not in site_names:
            issues.append(
                InputIssue(
                    file,
                    f"{path}.installed[{j}].site",
                    base.site,
                    f"one of the scenario's sites: {', '.join(sorted(site_names))}",
                )
            )
        if month_number(base.since) > month_number(sc.horizon.start):
            issues.append(
                InputIssue(
                    file,
                    f"{path}.installed[{j}].since",
                    base.since,
                    f"a month no later than the horizon's start ({sc.horizon.start}): later purchases are "
                    "market orders",
                )
            )
    return issues


def _own_design_issues(
    file: str, sc: Scenario, ft: Any, path: str, name: str, main_acc: str | None
) -> list[InputIssue]:
    """An own design in the fleet: a further type (``supply:`` builds the first), its chain builds this type, and its
    cost per accelerator to its owner is given."""
    if ft.supply is None:
        return []
    issues = _supply_schedule_issues(file, ft.supply, f"{path}.supply")
    if name == main_acc:
        issues.append(
            InputIssue(
                file, f"{path}.supply", name, "no second chain for supply.accelerator's type (supply: builds it)"
            )
        )
    if _known_accelerator(sc, ft.supply.accelerator) and _accelerator_name(sc, ft.supply.accelerator) != name:
        issues.append(
            InputIssue(file, f"{path}.supply.accelerator", ft.supply.accelerator, f"this entry's type, {name}")
        )
    if ft.price_usd is None:
        issues.append(
            InputIssue(file, f"{path}.price_usd", None, "the own design's cost per accelerator to its owner (USD)")
        )
    return issues


def _deployment_issues(file: str, ft: Any, path: str, site_names: set[str]) -> list[InputIssue]:
    """A deployment schedule names the scenario's sites, one step per site and month."""
    issues: list[InputIssue] = []
    seen: set[tuple[str, int]] = set()
    for j, step in enumerate(ft.deployment or []):
        if step.site not in site_names:
            issues.append(
                InputIssue(
                    file,
                    f"{path}.deployment[{j}].site",
                    step.site,
                    f"one of the scenario's sites: {', '.join(sorted(site_names))}",
                )
            )
        key = (step.site, month_number(step.from_))
        if key in seen:
            issues.append(
                InputIssue(
                    file, f"{path}.deployment[{j}].from", step.from_, f"one step per site and month ({step.site})"
                )
            )
        seen.add(key)
    return issues


def _known_accelerator(sc: Scenario, name: str) -> bool:
    try:
        _accelerator_name(sc, name)
    except CatalogError:
        return False
    return True


def _cooling_max_rack_kw(kind: str) -> float | None:
    value = catalog.lookup("cooling", kind)["max_rack_kw"]
    return None if value != value else float(value)  # NaN: not published


def _check_model(issues: list[InputIssue], file: str, sc: Scenario, path: str, name: str) -> None:
    try:
        catalog.lookup("models", name, sc.catalog.get("models"))
    except CatalogError as exc:
        issues.append(
            InputIssue(
                file, path, name, str(exc).split("; ", 1)[-1].replace("known:", "expected a model from the catalog:")
            )
        )
