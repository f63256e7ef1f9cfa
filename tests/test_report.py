"""The HTML report is self-contained: plotly.js inlined, no external script or stylesheet."""

from __future__ import annotations

import re

from fab2token.engine.simulate import simulate, summarise
from fab2token.io.report import render_report
from fab2token.scenario.models import load_scenario


def test_report_is_self_contained_and_has_the_figures():
    from tests.conftest import EXAMPLES

    sc, _ = load_scenario(EXAMPLES / "small.yaml")
    ds = simulate(sc)
    page = render_report(ds, summarise(ds, "r1").to_dict())
    assert not re.search(r"<script[^>]+src=", page, flags=re.I)
    assert not re.search(r"<link[^>]+href=[\"']https?:", page, flags=re.I)
    assert not re.search(r"src=[\"']https?://", page)
    assert page.count("Plotly.newPlot") >= 7
    for title in (
        "Accelerators delivered vs installed",
        "IT power available vs used",
        "What binds each month",
        "Cumulative capex and opex",
        "Supply funnel",
        "what each step allows",
        "Die yield over the ramp",
        "Largest training cluster",
        "and ambient temperature",
    ):
        assert title in page
