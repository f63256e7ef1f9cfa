"""Every function the API reference page renders (docs/reference-api.md) documents its parameters and what it
returns in numpydoc sections, so the page cannot show a function without them; the models among them cite their
references."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import fab2token

PAGE = Path(__file__).resolve().parents[1] / "docs" / "reference-api.md"


def _rendered() -> list[str]:
    return re.findall(r"^::: (\S+)", PAGE.read_text(encoding="utf-8"), flags=re.MULTILINE)


def test_every_rendered_function_has_parameters_and_returns():
    missing = []
    for dotted in _rendered():
        module, name = dotted.rsplit(".", 1)
        doc = inspect.getdoc(getattr(importlib.import_module(module), name)) or ""
        for section in ("Parameters\n----------", "Returns\n-------"):
            if section not in doc:
                missing.append(f"{dotted}: {section.splitlines()[0]}")
    assert len(_rendered()) >= 10 and not missing, missing


def test_the_package_front_door_is_documented_too():
    missing = [
        name
        for name in fab2token.__all__
        if inspect.isfunction(getattr(fab2token, name))
        and "Parameters\n----------" not in (inspect.getdoc(getattr(fab2token, name)) or "")
    ]
    assert not missing, missing


# the rendered functions that carry a model of the real world: each cites what it rests on
MODELS = (
    "fab2token.workloads.training.train",
    "fab2token.workloads.inference.infer",
    "fab2token.supply.chain.chain",
    "fab2token.plan.stochastic.plan_draws",
)


def test_every_rendered_model_cites_its_references():
    rendered = set(_rendered())
    missing = []
    for dotted in MODELS:
        module, name = dotted.rsplit(".", 1)
        doc = inspect.getdoc(getattr(importlib.import_module(module), name)) or ""
        if dotted not in rendered or not re.search(r"^References\n-+\n\.\. \[1\] \S", doc, flags=re.MULTILINE):
            missing.append(dotted)
    assert not missing, missing
