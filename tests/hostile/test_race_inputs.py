"""Hostile and careless race files: every problem ends with exit 2 and a message naming the file, the field path,
the value and what was expected (a player's scenario problems under ``players[i].scenario``, or in its own file),
never a traceback; a page path that names the race file is refused before anything runs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fab2token.cli.main import app
from tests.conftest import EXAMPLES

runner = CliRunner()
RACE = yaml.safe_load((EXAMPLES / "race.yaml").read_text())


def _race(tmp_path: Path, data: object, name: str = "race.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def _run(path: Path, *extra: str):
    return runner.invoke(app, ["race", str(path), *extra])


def _mutated(edit) -> dict:
    data = copy.deepcopy(RACE)
    edit(data)
    return data


CASES = {
    "unknown wafer node": (
        lambda d: d["world"]["wafers"][0].update(key="N1"),
        ["world.wafers[0].key", "'N1'", "catalog/world.csv wafers row"],
    ),
    "wafer pool without a node": (
        lambda d: d["world"]["wafers"][0].pop("key"),
        ["world.wafers[0].key", "a process node"],
    ),
    "unknown market type": (
        lambda d: d["world"]["market"][0].update(accelerators=["H999"]),
        ["world.market[0].accelerators[0]", "'H999'", "an accelerator in the catalog"],
    ),
    "bad rule": (lambda d: d.update(allocation="lottery"), ["allocation", "'lottery'"]),
    "negative share": (
        lambda d: d["players"][0]["claims"]["hbm"].update(share=-1),
        ["players[0].claims.hbm.share", "-1", "greater than 0"],
    ),
    "duplicate player": (
        lambda d: d["players"][1].update(name="lab"),
        ["players[1].name", "'lab'", "a name no other player has"],
    ),
    "counterfactual of nobody": (
        lambda d: d["counterfactuals"][0].update(player="nobody"),
        ["counterfactuals[0].player", "'nobody'", "one of lab, hyperscaler, fab-builder"],
    ),
    "counterfactual that changes nothing": (
        lambda d: d["counterfactuals"][0].pop("set"),
        ["counterfactuals[0]", "give drop: true or the fields to set"],
    ),
    "a player's scenario field": (
        lambda d: d["players"][1]["scenario"]["sites"][0].update(pue=0.5),
        ["players[1].scenario.sites[0].pue", "0.5"],
    ),
    "a player's own horizon": (
        lambda d: d["players"][2]["scenario"].update(horizon={"start": "2027-01", "months": 12}),
        ["players[2].scenario.horizon", "the race's horizon"],
    ),
    "an unknown player field": (
        lambda d: d["players"][0].update(colour="red"),
        ["players[0].colour", "'red'"],
    ),
    "own something not ownable": (
        lambda d: d["players"][2].update(own=["market"]),
        ["players[2].own[0]", "'market'"],
    ),
    "no players": (lambda d: d.update(players=[]), ["players", "at least 1"]),
    "a level outside (0, 1)": (
        lambda d: d["world"]["packaging"].update(level=1.5),
        ["world.packaging.level", "1.5", "a quantile between 0 and 1"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_race_fields_exit_2_naming_the_field(tmp_path, case):
    edit, expected = CASES[case]
    path = _race(tmp_path, _mutated(edit))
    res = _run(path)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert str(path) in res.output
    for text in expected:
        assert text in res.output, (case, text, res.output)


def test_a_player_scenario_file_reports_its_own_file(tmp_path):
    bad = copy.deepcopy(RACE["players"][0]["scenario"])
    bad["economics"]["electricity_usd_per_mwh"] = "cheap"
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(bad))
    data = _mutated(lambda d: d["players"][0].update(scenario="lab.yaml"))
    res = _run(_race(tmp_path, data))
    assert res.exit_code == 2
    assert str(tmp_path / "lab.yaml") in res.output and "economics.electricity_usd_per_mwh" in res.output
    data = _mutated(lambda d: d["players"][0].update(scenario="missing.yaml"))
    res = _run(_race(tmp_path, data))
    assert res.exit_code == 2 and "missing.yaml" in res.output


def test_a_bad_counterfactual_path_is_named(tmp_path):
    data = _mutated(lambda d: d["counterfactuals"][0].update(set={"scenario.sites.7.pue": 1.3}))
    res = _run(_race(tmp_path, data))
    assert res.exit_code == 2 and "counterfactuals[0].set" in res.output and "scenario.sites.7.pue" in res.output
    data = _mutated(lambda d: d["counterfactuals"][0].update(set={"scenario.supply.fab.capacity_wafers_per_month": -5}))
    res = _run(_race(tmp_path, data))
    assert res.exit_code == 2 and "counterfactual no-own-fab" in res.output
    assert "supply.fab.capacity_wafers_per_month" in res.output


def test_the_page_may_not_overwrite_the_race_file(tmp_path):
    path = _race(tmp_path, RACE)
    before = path.read_text()
    res = _run(path, "--report", str(path))
    assert res.exit_code == 2 and "--report" in res.output
    assert path.read_text() == before
    res = _run(path, "--report", str(tmp_path / "no-such-folder" / "page.html"))
    assert res.exit_code == 2


@pytest.mark.parametrize("text", ["", "- a list\n", "players: [\n", "horizon: {start: 2026-13, months: 5}\n"])
def test_not_a_race_file(tmp_path, text):
    res = _run(_race(tmp_path, text))
    assert res.exit_code == 2 and "Traceback" not in res.output


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    where=st.sampled_from(["world.packaging", "world.hbm", "claims", "allocation", "players.0.own", "horizon"]),
    value=st.one_of(st.integers(-5, 5), st.text(max_size=8), st.lists(st.integers(), max_size=2), st.none()),
)
def test_any_junk_in_a_race_field_exits_2(tmp_path, where, value):
    data = copy.deepcopy(RACE)
    data.pop("counterfactuals")
    node = data
    parts = where.split(".")
    if parts[0] == "claims":
        data["players"][0]["claims"] = value
    else:
        for p in parts[:-1]:
            node = node[int(p)] if p.isdigit() else node[p]
        node[parts[-1]] = value
    res = _run(_race(tmp_path, data))
    assert res.exit_code in (0, 2), res.output
    assert "Traceback" not in res.output and "internal error" not in res.output.lower()
