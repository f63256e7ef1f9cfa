"""The scenario file's JSON Schema, from the pydantic models (``fab2token schema``), for editors that check and
complete YAML as it is typed (the YAML language server reads a ``# yaml-language-server: $schema=...`` line).

The schema is looser than ``validate`` where a scenario may write more than the models' types say: every number may
also be a quantity with units (``"20 MW"``) or a distribution (``{dist: lognormal, ...}``), every text (months are
text) a distribution, the fab's fields may sit directly under ``supply``, and the top level may hold
``correlations``. It checks the shape (sections, field names, types,
ranges written in the models); ``fab2token validate`` remains the judge (cross-checks, catalog names, files).
"""

from __future__ import annotations

from typing import Any

from fab2token.scenario.distributions import DIST_KINDS

__all__ = ["scenario_json_schema", "SCHEMA_ID"]

SCHEMA_ID = "https://fab2token.dev/schema/scenario.json"
_DIST = {
    "type": "object",
    "description": "A distribution standing for the value (docs/guide/uncertainty.md).",
    "required": ["dist"],
    "properties": {"dist": {"enum": list(DIST_KINDS)}},
}
_QUANTITY = {"type": "string", "description": "A quantity with units, e.g. '20 MW' or '0.08 USD/kWh'."}


def _loosen(node: Any) -> Any:
    """Every number (and month) also a distribution; every number also a quantity string."""
    if isinstance(node, list):
        return [_loosen(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _loosen(v) for k, v in node.items()}
    if node.get("type") in ("number", "integer"):
        return {
            "anyOf": [node, _QUANTITY, {"$ref": "#/$defs/Distribution"}],
            "description": node.get("description", ""),
        }
    if node.get("type") == "string" and "enum" not in node:  # months are strings: they may be distributions too
        return {"anyOf": [node, {"$ref": "#/$defs/Distribution"}], "description": node.get("description", "")}
    return node


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file."""
    from fab2token.scenario.fields import describe_models
    from fab2token.scenario.models import Scenario

    describe_models()
    schema = _loosen(Scenario.model_json_schema(by_alias=True))
    defs = schema.setdefault("$defs", {})
    defs["Distribution"] = _DIST
    supply, fab = defs.get("Supply"), defs.get("Fab")
    if supply and fab:  # the fab's fields may be written directly under supply (one fab, no `fab:` level)
        supply["properties"] = {**fab["properties"], **supply["properties"]}
        supply["required"] = [r for r in supply.get("required", []) if r != "fab"]
    schema["properties"]["correlations"] = {
        "type": "array",
        "description": "Rank correlations between uncertain inputs: [{between: [path, path], rank: r}].",
        "items": {"type": "object", "required": ["between", "rank"]},
    }
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
