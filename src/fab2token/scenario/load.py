"""Reading a scenario: YAML text -> validated :class:`~fab2token.scenario.models.Scenario`, every problem listed.

What is read is bounded before it is read: the file must be an ordinary file of at most
:data:`MAX_SCENARIO_BYTES` (checked with ``stat`` before opening), and the YAML parse itself is bounded by
:mod:`.yamltext` (nesting, values with aliases expanded, repeated keys).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from fab2token.errors import InputIssue, ScenarioError
from fab2token.options import Number, check_options
from fab2token.scenario.checks import expected, loc, semantic_issues
from fab2token.scenario.files import FileProblem, read_regular, utf8_text
from fab2token.scenario.models import Scenario
from fab2token.scenario.uncertain import PLACEHOLDER, read_uncertain
from fab2token.scenario.yamltext import load_yaml

__all__ = ["MAX_SCENARIO_BYTES", "parse_scenario", "scenario_from_data", "load_scenario", "read_yaml_file"]

# The bundled examples are 1-4 kB; a 5,000-site scenario written out in full is 1.4 MB and parses in ~5 s (the YAML
# parser reads ~0.3 MB/s). 4 MiB holds ~15,000 such sites; anything larger is not a scenario typed or generated here.
MAX_SCENARIO_BYTES = 4 * 2**20
# the level a scenario's distributions are read at (0.5: their medians); open at both ends, where unbounded ones
# have no value
_QUANTILE = Number(0.0, 1.0, low_open=True, high_open=True)


def parse_scenario(text: str, file: str = "<scenario>", quantile: float = 0.5) -> Scenario:
    """Validate scenario YAML text.

    Numbers and months written as distributions (:mod:`.distributions`) are checked where they are written and
    replaced by their medians (``quantile``: by their own ``quantile``-quantiles, each input at the same level);
    the scenario returned is that one, its uncertain inputs kept with it
    (:func:`~fab2token.scenario.uncertain.uncertain_inputs`).

    Parameters
    ----------
    text : str
        The scenario, as YAML.
    file : str
        The name problems are reported under (a path, or ``<editor>``).
    quantile : float
        The quantile every uncertain input is taken at (0.5: its median).

    Returns
    -------
    Scenario
        The validated scenario, every quantity in the unit its field names.

    Raises
    ------
    ScenarioError
        Listing every problem found, each with file, field path, value and what was expected.
    """
    check_options("parse_scenario", {"quantile": quantile}, {"quantile": _QUANTILE})
    if len(text) > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            [InputIssue(file, "", f"{len(text):,} characters", f"a scenario of at most {MAX_SCENARIO_BYTES:,} bytes")]
        )
    return scenario_from_data(load_yaml(text, file), file, quantile)


def scenario_from_data(data: object, file: str = "<scenario>", quantile: float = 0.5) -> Scenario:
    """Validate a scenario already read from YAML (a mapping), as :func:`parse_scenario` does its text."""
    if not isinstance(data, dict):
        raise ScenarioError(
            [InputIssue(file, "", type(data).__name__, "a YAML mapping with horizon, supply, sites and economics")]
        )
    data, uncertain, issues = read_uncertain(data, file, quantile)  # distributions -> medians, checked where written
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        issues += [
            InputIssue(file, loc(e["loc"]), "(missing)" if e["type"] == "missing" else e.get("input"), expected(e))
            for e in exc.errors()
            if e.get("input") is not PLACEHOLDER  # a distribution that cannot be used, reported as such already
        ]
        raise ScenarioError(issues) from None
    issues += semantic_issues(file, sc) if not issues else []
    if issues:
        raise ScenarioError(issues)
    sc._distributions = uncertain
    return sc


def _read_text(p: Path) -> str:
    """An input file's text: an ordinary UTF-8 file of at most :data:`MAX_SCENARIO_BYTES`, else ScenarioError."""
    try:
        return utf8_text(read_regular(p, MAX_SCENARIO_BYTES))
    except FileProblem as exc:
        expected = f"a readable, ordinary UTF-8 YAML file of at most {MAX_SCENARIO_BYTES:,} bytes"
        raise ScenarioError([InputIssue(str(p), "", str(exc), expected)]) from None


def read_yaml_file(path: str | Path) -> tuple[object, str]:
    """The data and text of a YAML input file, bounded as a scenario file is (:func:`load_scenario`)."""
    text = _read_text(Path(path))
    return load_yaml(text, str(path)), text


def load_scenario(path: str | Path, quantile: float = 0.5) -> tuple[Scenario, str]:
    """Read and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        The scenario file (YAML).
    quantile : float
        As :func:`parse_scenario`.

    Returns
    -------
    tuple of (Scenario, str)
        The scenario and its text (kept with stored runs).

    Raises
    ------
    ScenarioError
        The file is missing, unreadable, not an ordinary file (a device, a named pipe, a folder), larger than
        :data:`MAX_SCENARIO_BYTES` or not UTF-8 (the first bad byte is named); or its content is not a valid scenario.
    """
    p = Path(path)
    text = _read_text(p)
    return parse_scenario(text, str(p), quantile), text
