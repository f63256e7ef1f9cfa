"""Class 3 (bound what is parsed) and the YAML side of classes 4 and 6: alias bombs, deep nesting, oversized files,
repeated keys and scalars YAML cannot build are refused with the file and position, quickly."""

from __future__ import annotations

import time

import pytest
import yaml

from fab2token.errors import ScenarioError
from fab2token.scenario import load as load_mod
from fab2token.scenario import load_scenario, parse_scenario, yamltext
from fab2token.scenario.yamltext import MAX_YAML_DEPTH, MAX_YAML_NODES, load_yaml
from tests.conftest import EXAMPLES
from tests.hostile.scenario_support import bounded, cli, refused, small, write


def _bomb(levels: int = 9, width: int = 10) -> str:
    """The "billion laughs": each anchor a list of ``width`` uses of the previous one (width**levels values)."""
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [{','.join(['x'] * width)}]"]
    lines += [f"{n}: &{n} [{','.join(['*' + p] * width)}]" for p, n in zip(names, names[1:], strict=False)]
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    text = _bomb()
    assert len(text) < 400  # the issue's 400-byte bomb: 10**9 values once expanded
    t0 = time.perf_counter()
    msg = refused(write(tmp_path, text), tmp_path)
    assert time.perf_counter() - t0 < 10
    assert "scenario.yaml" in msg and "line " in msg
    assert f"more than {MAX_YAML_NODES:,} values with aliases" in msg


def test_yaml_alias_bomb_inside_a_real_scenario_names_its_line():
    d = small()
    text = yaml.safe_dump(d, sort_keys=False) + "extra:\n" + "".join(f"  {line}\n" for line in _bomb(7).splitlines())
    with bounded(), pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bomb.yaml")
    (issue,) = info.value.issues
    assert issue.file == "bomb.yaml" and issue.path.startswith("line ")
    assert "alias" in issue.expected


def test_yaml_aliases_within_the_bound_still_work():
    """Anchors and merge keys are legitimate YAML: reusing a schedule is not an attack."""
    d = small()
    text = yaml.safe_dump(d, sort_keys=False).replace("name: beta", "name: beta\n  <<: {ppa_mw: 0}")
    text = text.replace("sites:\n- name: alpha\n", "sites:\n- &alpha\n  name: alpha\n", 1)
    sc = parse_scenario(text, "ok.yaml")
    assert [s.name for s in sc.sites] == ["alpha", "beta"]


def test_yaml_merge_key_may_be_overridden_without_a_duplicate_error():
    data = load_yaml("base: &b {x: 1, y: 3}\nc:\n  <<: *b\n  x: 2\n", "m.yaml")
    assert data["c"] == {"x": 2, "y": 3}


def test_yaml_recursive_alias_is_refused():
    with pytest.raises(ScenarioError) as info:
        load_yaml("a: &a [1, *a]\n", "r.yaml")
    (issue,) = info.value.issues
    assert issue.path == "line 1, column 4" and "alias" in str(issue.value)


def test_yaml_too_many_values_is_refused_while_composing(monkeypatch):
    monkeypatch.setattr(yamltext, "MAX_YAML_NODES", 1_000)
    with pytest.raises(ScenarioError) as info:
        load_yaml("x: [" + ", ".join(["1"] * 2_000) + "]\n", "flat.yaml")
    (issue,) = info.value.issues
    assert issue.file == "flat.yaml" and "more than 1,000 values" in str(issue.value)


def test_yaml_fifty_thousand_brackets_give_a_clear_error_not_recursion(tmp_path):
    msg = refused(write(tmp_path, "[" * 50_000), tmp_path)
    assert "scenario.yaml: line 1" in msg and "nest" in msg
    assert "RecursionError" not in msg


@pytest.mark.parametrize("opener", ["block", "flow-mapping"])
def test_yaml_deep_nesting_is_refused_at_the_named_depth(opener):
    depth = MAX_YAML_DEPTH + 5
    if opener == "block":
        text = "".join(f"{' ' * i}k{i}:\n" for i in range(depth)) + " " * depth + "v: 1\n"
    else:
        text = "a: " + "{k: " * depth + "1" + "}" * depth + "\n"
    with pytest.raises(ScenarioError) as info:
        load_yaml(text, "deep.yaml")
    (issue,) = info.value.issues
    assert issue.path.startswith("line ")
    assert f"at most {MAX_YAML_DEPTH} levels" in issue.expected


def test_yaml_oversized_scenario_file_is_refused_before_reading(tmp_path):
    p = tmp_path / "huge.yaml"
    with p.open("wb") as fh:  # sparse: the size is what is checked, before anything is read
        fh.truncate(load_mod.MAX_SCENARIO_BYTES + 1)
    msg = refused(p, tmp_path)
    assert "huge.yaml" in msg and f"{load_mod.MAX_SCENARIO_BYTES + 1:,} bytes" in msg
    assert f"at most {load_mod.MAX_SCENARIO_BYTES:,} bytes" in msg


def test_yaml_oversized_text_is_refused_by_parse_scenario():
    with pytest.raises(ScenarioError) as info:
        parse_scenario("#" * (load_mod.MAX_SCENARIO_BYTES + 1), "api.yaml")
    (issue,) = info.value.issues
    assert issue.file == "api.yaml" and "characters" in str(issue.value)


def test_yaml_long_unknown_key_value_gives_a_short_message(tmp_path):
    d = small()
    d["economics"]["unknown_key"] = "x" * 3_000_000  # under the size limit, far over any echo
    code, text = cli("validate", str(write(tmp_path, d)))
    assert code == 2
    assert "economics.unknown_key" in " ".join(text.split())
    assert len(text) < 5_000


def test_yaml_duplicated_top_level_key_names_key_and_both_lines(tmp_path):
    text = yaml.safe_dump(small(), sort_keys=False) + "name: second-name\n"
    first = text.splitlines().index("name: small-two-site") + 1
    last = len(text.splitlines())
    msg = refused(write(tmp_path, text), tmp_path)
    assert f"name (line {last})" in msg and f"line {first} already" in msg
    assert "'name'" in msg


def test_yaml_duplicated_nested_key_gives_its_path():
    text = "horizon:\n  start: 2026-01\n  months: 24\n  months: 36\n"
    with pytest.raises(ScenarioError) as info:
        load_yaml(text, "dup.yaml")
    (issue,) = info.value.issues
    assert issue.path == "horizon.months (line 4)" and issue.value == "months"
    assert "line 3 already" in issue.expected


def test_yaml_duplicated_key_in_a_list_item_and_every_duplicate_is_listed():
    text = "sites:\n- {name: a, pue: 1.2, pue: 1.3}\n- name: b\n  name: c\n"
    with pytest.raises(ScenarioError) as info:
        load_yaml(text, "dup.yaml")
    assert [i.path for i in info.value.issues] == ["sites[0].pue (line 2)", "sites[1].name (line 4)"]


def test_yaml_fab_field_given_under_supply_and_under_supply_fab_is_refused(tmp_path):
    d = small()
    d["supply"]["wafer_starts"] = [{"from": "2026-01", "wafers_per_month": 5}]  # shorthand and fab.wafer_starts
    msg = refused(write(tmp_path, d), tmp_path)
    assert "supply:" in msg and "wafer_starts given both under supply and under supply.fab" in msg


@pytest.mark.parametrize(
    ("scalar", "why"),
    [
        ("2026-02-30", "day is out of range"),  # a date YAML resolves but cannot build
        ("9" * 5_000, "4300 digits"),  # Python refuses to convert integers this long
        ("!!int x", "invalid literal"),
        ("!!float x", "could not convert"),
    ],
)
def test_yaml_scalar_that_cannot_be_built_is_an_error_at_its_position(scalar, why):
    with pytest.raises(ScenarioError) as info:
        load_yaml(f"horizon:\n  start: {scalar}\n", "s.yaml")
    (issue,) = info.value.issues
    assert issue.path == "line 2, column 10" and why in str(issue.value)


def test_yaml_bounded_loader_reads_every_bundled_example_as_safe_load_does():
    for p in sorted(EXAMPLES.glob("*.yaml")):
        text = p.read_text()
        assert load_yaml(text, str(p)) == yaml.safe_load(text), p.name


def test_yaml_two_documents_are_refused():
    with pytest.raises(ScenarioError) as info:
        load_scenario_text = "horizon: {start: 2026-01, months: 1}\n---\nname: x\n"
        parse_scenario(load_scenario_text, "two.yaml")
    assert "document" in str(info.value.issues[0].value)


def test_yaml_empty_scenario_file_says_a_mapping_is_expected(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, ""))
    assert "mapping" in info.value.issues[0].expected
