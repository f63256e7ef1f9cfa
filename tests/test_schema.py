"""The scenario file's JSON Schema (issue 22): generated from the models, accepting every bundled example
(distributions, quantities with units and the fab's fields under supply included), refusing a misspelt field, and
committed as docs/scenario.schema.json (which the examples name for editors) exactly as `fab2token schema` prints it."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from fab2token.cli import app
from fab2token.scenario.schema import scenario_json_schema
from tests.conftest import EXAMPLES

ROOT = EXAMPLES.parent
SCENARIOS = sorted(p for p in EXAMPLES.glob("*.yaml") if p.stem != "mini-fab" and not p.stem.startswith("race"))


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft202012Validator(scenario_json_schema())


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_example_fits_the_schema_and_names_it(validator, path):
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../docs/scenario.schema.json\n")
    assert [e.message for e in validator.iter_errors(yaml.safe_load(text))] == []


def test_the_schema_refuses_what_the_models_refuse(validator):
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["sites"][0]["puee"] = 1.2
    data["supply"]["fab"]["yield_model"] = "magic"
    messages = " | ".join(e.message for e in validator.iter_errors(data))
    assert "'puee' was unexpected" in messages and "'magic'" in messages


def test_the_committed_schema_is_the_generated_one():
    res = CliRunner().invoke(app, ["schema"])
    assert res.exit_code == 0
    committed = json.loads((ROOT / "docs" / "scenario.schema.json").read_text())
    assert json.loads(res.stdout) == committed, "regenerate it: fab2token schema > docs/scenario.schema.json"
