"""The one error path (hand-written hostile cases): markup in echoed values, bounded echoes, internal errors.

Class 2 of issue 12 (square brackets crashed the rich error printer or vanished) and the "one error path":
a user's error is ``error: ...`` with exit status 2, an internal error is one line naming a log file, exit 1.
"""

from __future__ import annotations

import errno

import pytest
import yaml
from typer.testing import CliRunner

from fab2token.cli.common import app as common_app
from fab2token.cli.main import app
from fab2token.errors import MAX_ECHO_CHARS, MAX_ISSUES_SHOWN, InputIssue, ScenarioError, shown

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _scenario(write_yaml, small_dict, **changes):
    data = yaml.safe_load(yaml.safe_dump(small_dict))
    for dotted, value in changes.items():
        node = data
        *head, last = dotted.split(".")
        for k in head:
            node = node[k]
        node[last] = value
    return write_yaml(data)


def test_markup_closing_tag_in_a_value_is_printed_literally(write_yaml, small_dict):
    path = _scenario(write_yaml, small_dict, **{"horizon.start": "[/]"})
    res = _run("validate", path)
    assert res.exit_code == 2, res.output
    assert "horizon.start: got '[/]'" in res.stderr
    assert "Traceback" not in res.output and "MarkupError" not in res.output


def test_markup_style_tag_in_a_value_is_not_swallowed(write_yaml, small_dict):
    path = _scenario(write_yaml, small_dict, **{"supply.accelerator": "[bold]H900"})
    res = _run("validate", path)
    assert res.exit_code == 2
    assert "supply.accelerator: got '[bold]H900'" in res.stderr


def test_markup_in_a_file_name_is_printed_literally(tmp_path):
    path = tmp_path / "[/]x[bold].yaml"
    res = _run("validate", path)
    assert res.exit_code == 2
    assert "[/]x[bold].yaml" in res.stderr


def test_markup_in_a_scenario_name_prints_in_run_and_runs(write_yaml, small_dict, tmp_path):
    path = _scenario(write_yaml, small_dict, name="[/][bold]x[red]")
    db = tmp_path / "r.duckdb"
    res = _run("run", path, "--db", db, "--no-report")
    assert res.exit_code == 0, res.output
    assert "[/][bold]x[red]" in res.stdout
    listed = _run("runs", "--db", db)
    assert listed.exit_code == 0 and "[/][bold]x[red]" in listed.stdout


def test_markup_in_a_run_id_is_printed_literally(small_path, tmp_path):
    db = tmp_path / "r.duckdb"
    assert _run("run", small_path, "--db", db, "--no-report").exit_code == 0
    res = _run("show", "[/]", "--db", db)
    assert res.exit_code == 2
    assert "no run with id '[/]'" in res.stderr


def test_echo_a_50_mb_value_gives_a_short_message():
    value = "x" * 50_000_000
    text = str(ScenarioError([InputIssue("big.yaml", "name", value, "a short name")]))
    assert len(text) < 4 * MAX_ECHO_CHARS
    assert "50,000,000 characters" in text and "big.yaml: name" in text


def test_echo_a_huge_key_path_and_list_are_bounded():
    issue = InputIssue("f.yaml", "k" * 1_000_000, list(range(1_000_000)), "nothing")
    text = str(issue)
    assert len(text) < 4 * MAX_ECHO_CHARS
    assert "1,000,000 characters" in text and "[0, 1, 2," in text


def test_echo_short_values_are_exactly_repr():
    for v in ("H100", 3.5, [1, 2], {"a": 1}, None, float("nan")):
        assert shown(v) == repr(v)


def test_echo_many_issues_are_counted_not_all_listed():
    issues = [InputIssue("f.yaml", f"sites[{i}].pue", 0.5, "at least 1") for i in range(MAX_ISSUES_SHOWN + 25)]
    text = str(ScenarioError(issues))
    assert text.startswith(f"{MAX_ISSUES_SHOWN + 25} problems")
    assert "... and 25 more" in text and f"sites[{MAX_ISSUES_SHOWN}]" not in text


def test_one_error_path_every_command_goes_through_handles_errors():
    def commands(group, prefix: str = ""):
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):
                yield from commands(cmd, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", cmd

    import typer.main

    group = typer.main.get_command(app)
    found = dict(commands(group))
    assert {"run", "validate", "runs", "show", "plan", "fabline", "catalog accelerators"} <= set(found)
    missing = [n for n, c in found.items() if not getattr(c.callback, "handles_errors", False)]
    assert not missing, missing
    assert common_app is app


def test_one_error_path_internal_error_is_one_line_and_a_log(small_path, tmp_path, monkeypatch):
    import fab2token.scenario as scenario_pkg

    def boom(*_a, **_k):
        return 1 / 0

    monkeypatch.setattr(scenario_pkg, "load_scenario", boom)  # validate imports it when it runs
    monkeypatch.setenv("FAB2TOKEN_LOG_DIR", str(tmp_path))
    res = _run("validate", small_path)
    assert res.exit_code == 1
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "ZeroDivisionError" in lines[0], res.stderr
    assert "Traceback" not in res.output
    logs = list(tmp_path.glob("fab2token-error-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    log = logs[0].read_text()
    assert "Traceback (most recent call last)" in log and "in boom" in log


def test_one_error_path_typer_exit_inside_a_command_is_not_an_internal_error(monkeypatch):
    import typer

    import fab2token.cli.catalog as catalog_cli

    def leave(*_a, **_k):
        raise typer.Exit(3)

    monkeypatch.setattr(catalog_cli, "_print_table", leave)
    res = _run("catalog", "models")
    assert res.exit_code == 3 and "internal error" not in res.output


def test_one_error_path_os_error_on_a_user_path_is_exit_2(small_path, monkeypatch):
    import fab2token.scenario as scenario_pkg

    def denied(*_a, **_k):
        raise PermissionError(errno.EACCES, "Permission denied", "/srv/locked/scenario.yaml")

    monkeypatch.setattr(scenario_pkg, "load_scenario", denied)
    res = _run("validate", small_path)
    assert res.exit_code == 2
    assert "error: /srv/locked/scenario.yaml: Permission denied" in res.stderr


@pytest.mark.parametrize("args", [["fabline", "x", "--days", "[/]"], ["show"]])
def test_one_error_path_usage_errors_stay_click_usage_errors(args):
    res = _run(*args)
    assert res.exit_code == 2
    assert "Traceback" not in res.output
