"""Reading a race file: the race's own fields, then every player's scenario validated as any scenario is, each
problem named by file and path (``players[1].scenario.sites[0].pue``), all of them listed at once."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fab2token import catalog
from fab2token.errors import CatalogError, InputIssue, ScenarioError
from fab2token.scenario.checks import expected, loc
from fab2token.scenario.load import read_yaml_file, scenario_from_data
from fab2token.scenario.models import Scenario
from fab2token.scenario.race import Race

__all__ = ["LoadedRace", "load_race", "race_from_data", "player_scenario", "apply_counterfactual"]


@dataclass(frozen=True)
class LoadedRace:
    """A validated race: its fields, each player's validated scenario, and the data they came from (the
    counterfactuals change that data and validate it again)."""

    race: Race
    scenarios: list[Scenario]
    data: dict[str, Any]
    file: str
    folder: Path


def load_race(path: str | Path) -> LoadedRace:
    """Read and validate a race file (a player's scenario file is read relative to it).

    Raises
    ------
    ScenarioError
        Every problem in the race file and in the players' scenarios, each with its file, path, value and what was
        expected.
    """
    data, _ = read_yaml_file(path)
    return race_from_data(data, str(path), Path(path).resolve().parent)


def race_from_data(data: object, file: str, folder: Path) -> LoadedRace:
    """Validate race data already read from YAML."""
    if not isinstance(data, dict):
        raise ScenarioError([InputIssue(file, "", type(data).__name__, "a YAML mapping with horizon and players")])
    race, issues = None, []
    try:
        race = Race.model_validate(data)
    except ValidationError as exc:
        issues = [
            InputIssue(file, loc(e["loc"]), "(missing)" if e["type"] == "missing" else e.get("input"), expected(e))
            for e in exc.errors()
        ]
    if race is not None:
        issues += _race_issues(file, race)
    scenarios: list[Scenario] = []
    players = data.get("players")
    horizon_ok = race is not None or not any(x.path.startswith("horizon") for x in issues)
    for i, player in enumerate(players if isinstance(players, list) and horizon_ok else []):
        if not isinstance(player, dict) or not isinstance(player.get("scenario"), str | dict):
            continue  # reported by the race's own fields
        try:
            scenarios.append(player_scenario(file, folder, i, player["scenario"], data.get("horizon")))
        except ScenarioError as exc:
            issues += exc.issues
    if issues:
        raise ScenarioError(issues)
    assert race is not None
    return LoadedRace(race=race, scenarios=scenarios, data=copy.deepcopy(data), file=file, folder=folder)


def player_scenario(file: str, folder: Path, i: int, scenario: Any, horizon: Any) -> Scenario:
    """Player ``i``'s scenario over the race's horizon; problems named in its own file or under
    ``players[i].scenario``."""
    where = f"players[{i}].scenario"
    if isinstance(scenario, str):
        path = folder / scenario
        data, _ = read_yaml_file(path)
        own_file, prefix = str(path), ""
    else:
        data, own_file, prefix = scenario, file, where + "."
    if isinstance(data, dict):
        if "horizon" in data and data["horizon"] != horizon:
            raise ScenarioError(
                [InputIssue(own_file, prefix + "horizon", data["horizon"], f"the race's horizon {horizon} or none")]
            )
        data = {**data, "horizon": horizon}
    try:
        return scenario_from_data(data, own_file)
    except ScenarioError as exc:
        raise ScenarioError(
            [
                InputIssue(x.file, prefix + x.path if x.file == own_file and prefix else x.path, x.value, x.expected)
                for x in exc.issues
            ]
        ) from None


def _race_issues(file: str, race: Race) -> list[InputIssue]:
    """Cross-checks of the race's own fields: unique players, known counterfactual players, catalog pools."""
    issues = []
    names = [p.name for p in race.players]
    for i, name in enumerate(names):
        if name in names[:i]:
            issues.append(InputIssue(file, f"players[{i}].name", name, "a name no other player has"))
    for i, cf in enumerate(race.counterfactuals):
        if cf.player not in names:
            issues.append(InputIssue(file, f"counterfactuals[{i}].player", cf.player, f"one of {', '.join(names)}"))
    pools = [("wafers", i, p) for i, p in enumerate(race.world.wafers)] + [
        ("market", i, p) for i, p in enumerate(race.world.market)
    ]
    pools += [(r, None, p) for r, p in (("packaging", race.world.packaging), ("hbm", race.world.hbm)) if p]
    for resource, i, pool in pools:
        path = f"world.{resource}" + (f"[{i}]" if i is not None else "")
        issues += _pool_issues(file, path, resource, pool)
    return issues


def _pool_issues(file: str, path: str, resource: str, pool: Any) -> list[InputIssue]:
    """A pool names its key where it must, has catalog rows when it takes the catalog's capacity, and its market
    types are in the accelerator catalog."""
    if resource in ("wafers", "market") and pool.key is None:
        what = "a process node (e.g. N3)" if resource == "wafers" else "a market pool's name"
        return [InputIssue(file, path + ".key", None, what)]
    issues = []
    if pool.capacity == "catalog":
        keys = sorted({str(r["key"]) for r in catalog.table_rows("world") if r["resource"] == resource})
        if pool.key is not None and pool.key not in keys:
            issues.append(InputIssue(file, path + ".key", pool.key, f"a catalog/world.csv {resource} row: {keys}"))
    types = pool.accelerators or []
    for j, name in enumerate(types):
        try:
            catalog.lookup("accelerators", name)
        except CatalogError:
            issues.append(InputIssue(file, f"{path}.accelerators[{j}]", name, "an accelerator in the catalog"))
    return issues


def apply_counterfactual(loaded: LoadedRace, index: int) -> LoadedRace:
    """The race with counterfactual ``index`` applied (its player dropped or its fields set), validated again."""
    cf = loaded.race.counterfactuals[index]
    data = copy.deepcopy(loaded.data)
    data.pop("counterfactuals", None)
    players = data["players"]
    k = next(i for i, p in enumerate(players) if p.get("name") == cf.player)
    if cf.drop:
        del players[k]
        if not players:
            raise ScenarioError(
                [InputIssue(loaded.file, f"counterfactuals[{index}].drop", True, "a race with another player left")]
            )
    else:
        for path, value in cf.set.items():
            _set_path(loaded, index, players[k], path, value)
    return race_from_data(data, f"{loaded.file} (counterfactual {cf.name})", loaded.folder)


def _set_path(loaded: LoadedRace, index: int, entry: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` (dots; list items by index) in a player's entry, reading a scenario file into it first."""
    parts = path.split(".")
    if parts[0] == "scenario" and isinstance(entry.get("scenario"), str):
        entry["scenario"], _ = read_yaml_file(loaded.folder / entry["scenario"])
    node: Any = entry
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            key: Any = int(part)
        elif isinstance(node, dict):
            key = part
        else:
            raise ScenarioError(
                [
                    InputIssue(
                        loaded.file, f"counterfactuals[{index}].set", path, "a dotted path into the player's entry"
                    )
                ]
            )
        if last:
            node[key] = value
        else:
            node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
