"""The dashboard in a real browser (issue 18): Playwright driving the system's chromium against `fab2token serve`'s
app on a loopback port — the list loads, a run's charts render (plotly's DOM), two runs compare through the form.

Skipped where the playwright package or /usr/bin/chromium is missing (Debian: `apt-get install chromium`;
Playwright's own browser download is not used). A failing test leaves a screenshot in its tmp_path."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fab2token.cli import app
from tests.conftest import EXAMPLES

CHROMIUM = Path("/usr/bin/chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)")
# how long a page may take to load and draw its charts
TIMEOUT_MS = 30_000
runner = CliRunner()


def _cli(*args: str) -> dict:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The dashboard over a store with two runs of the small example (the second with one PUE changed)."""
    import uvicorn
    import yaml

    from fab2token.web.app import create_app

    folder = tmp_path_factory.mktemp("e2e")
    db = str(folder / "e2e.duckdb")
    run_a = _cli("run", str(EXAMPLES / "small.yaml"), "--db", db, "--no-report", "--json")["run_id"]
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["sites"][0]["pue"] = 1.3
    (folder / "b.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    run_b = _cli("run", str(folder / "b.yaml"), "--db", db, "--no-report", "--json")["run_id"]
    sweep = _cli("sweep", str(EXAMPLES / "uncertain.yaml"), "--draws", "6", "--db", db, "--json")["sweep_id"]
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "the dashboard did not start in 30 s"
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "db": db, "a": run_a, "b": run_b, "sweep": sweep}
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, request, tmp_path):
    """A fresh page that records script errors and failed requests; a screenshot in tmp_path if the test fails."""
    pg = browser.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.problems = []
    pg.on("pageerror", lambda e: pg.problems.append(f"script error: {e}"))
    pg.on("requestfailed", lambda r: pg.problems.append(f"request failed: {r.url}"))
    # a script or style the Content-Security-Policy blocks is reported on the console, not as a page error
    pg.on("console", lambda m: "Content Security Policy" in m.text and pg.problems.append(f"CSP: {m.text}"))
    failed_before = request.session.testsfailed
    yield pg
    if request.session.testsfailed > failed_before:  # the test's call phase is reported before this teardown
        shot = tmp_path / f"{request.node.name}.png"
        pg.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
    pg.close()


def _charts_drawn(pg) -> int:
    pg.wait_for_selector(".plotly-graph-div .main-svg")
    return pg.eval_on_selector_all(".plotly-graph-div", "els => els.filter(e => e.querySelector('.main-svg')).length")


def test_the_list_loads_and_a_run_opens_with_its_charts_drawn(server, page):
    from fab2token.io import store
    from fab2token.io.report import figures

    page.goto(server["url"] + "/")
    assert page.title() == "fab2token: runs, plans, sweeps and races"
    page.click(f"a[href='/runs/{server['a']}']")
    page.wait_for_url(f"**/runs/{server['a']}")
    expected = len(figures(store.load_dataset(server["db"], server["a"])))
    assert _charts_drawn(page) == page.locator(".plotly-graph-div").count() == expected
    assert page.locator("table.summary").inner_text().count("USD") >= 5
    assert page.problems == []


def test_the_text_filter_narrows_the_list(server, page):
    page.goto(server["url"] + "/")
    page.fill("input[name=q]", server["b"][:8])
    page.click("form.filter button")
    page.wait_for_url("**/?q=*")
    links = page.eval_on_selector_all("table.items a", "els => els.map(e => e.getAttribute('href'))")
    assert links == [f"/runs/{server['b']}"]


def test_two_runs_compare_through_the_form(server, page):
    page.goto(server["url"] + "/")
    page.select_option("select[name=a]", server["a"])
    page.select_option("select[name=b]", server["b"])
    page.click("form[action='/compare'] button")
    page.wait_for_url("**/compare?*")
    assert "sites[0].pue" in page.locator("table.inputs").inner_text()
    assert _charts_drawn(page) == page.locator(".plotly-graph-div").count() > 0
    assert page.problems == []


def test_a_sweep_opens_from_the_list_with_its_fan_charts_drawn(server, page):
    from fab2token.io.sweep_report import sweep_figures
    from fab2token.io.sweep_store import load_sweep_arrays
    from fab2token.sweep.summary import summarise_sweep

    page.goto(server["url"] + "/?kind=sweep")
    page.click(f"a[href='/sweeps/{server['sweep']}']")
    page.wait_for_url(f"**/sweeps/{server['sweep']}")
    summary = summarise_sweep(server["db"], server["sweep"])
    expected = len(sweep_figures(summary, load_sweep_arrays(server["db"], server["sweep"])))
    assert _charts_drawn(page) == page.locator(".plotly-graph-div").count() == expected
    assert "P10-P90" in page.content() and page.problems == []


def test_a_bad_scenario_shows_its_field_error_and_a_launched_run_finishes(server, page):
    page.goto(server["url"] + "/edit?source=example:small")
    text = page.input_value("textarea[name=text]")
    page.fill("textarea[name=text]", text.replace("pue: 1.2", "pue: 0.5"))
    page.click("button[value=validate]")
    assert "sites[0].pue: got 0.5" in page.locator("#problems").inner_text()
    page.fill("textarea[name=text]", text)
    page.click("button[value=run]")
    page.wait_for_url("**/jobs/*")
    page.wait_for_selector("#result", timeout=120_000)  # the page refreshes itself until the job ends
    assert "done" in page.locator("#status").inner_text()
    page.click("#result")
    page.wait_for_url("**/runs/*")
    assert _charts_drawn(page) > 0 and page.problems == []


def test_the_editor_validates_as_you_type(server, page):
    """Typing a bad value shows the problem as `validate` prints it without pressing a button; mending it says OK."""
    page.goto(server["url"] + "/edit?source=example:small")
    text = page.input_value("textarea[name=text]")
    page.fill("textarea[name=text]", text.replace("pue: 1.2", "pue: 0.5"))
    page.wait_for_selector(".live-problem")
    assert "sites[0].pue: got 0.5" in page.locator("#live").inner_text()
    page.fill("textarea[name=text]", text)
    page.wait_for_selector("#live.notice")
    assert "OK: small-two-site validates" in page.locator("#live").inner_text()
    assert page.problems == []


def test_a_weather_file_uploaded_with_the_scenario(server, page, tmp_path):
    """A scenario naming a weather year is refused until the year is chosen in the file input (as you type), then
    validates on submit and keeps the file on the page."""
    year = tmp_path / "alpha.csv"
    year.write_text("dry_bulb_c\n" + "\n".join(f"{10 + (h % 24) / 4:.2f}" for h in range(8760)) + "\n")
    page.goto(server["url"] + "/edit?source=example:small")
    text = page.input_value("textarea[name=text]")
    page.fill("textarea[name=text]", text.replace("climate: us-virginia-ashburn", "weather_csv: alpha.csv"))
    page.wait_for_selector(".live-problem")
    assert "sites[0].weather_csv: got 'alpha.csv'" in page.locator("#live").inner_text()
    page.set_input_files("input[name=upload]", str(year))
    page.wait_for_selector("#live.notice")  # the file's choice checks again
    assert "OK: small-two-site validates" in page.locator("#live").inner_text()
    page.click("button[value=validate]")
    assert "OK: small-two-site validates" in page.locator("#ok").inner_text()
    assert page.locator(".attached-name").inner_text() == "alpha.csv"
    assert page.problems == []


@pytest.mark.parametrize("command", ["run", "plan"])
def test_an_offline_report_inflates_plotly_and_draws_every_chart(page, tmp_path, command):
    # the report file on its own (file://, no server): plotly.js travels gzip-compressed inside the page and the
    # browser's DecompressionStream inflates it before the charts draw (fab2token.io.charts, every report's path)
    report = tmp_path / "report.html"
    example = {"run": "small.yaml", "plan": "plan-two-sites.yaml"}[command]
    _cli(command, str(EXAMPLES / example), "--db", str(tmp_path / "r.duckdb"), "--report", str(report), "--json")
    text = report.read_text(encoding="utf-8")
    charts = text.count('class="plotly-graph-div"')
    assert charts >= 3 and text.count("fab2token-plotly") == 2  # the packed script and the loader's reference
    page.goto(report.as_uri())
    page.wait_for_function(
        f"document.querySelectorAll('.plotly-graph-div .main-svg').length >= {charts}", timeout=TIMEOUT_MS
    )
    drawn = page.eval_on_selector_all(
        ".plotly-graph-div", "els => els.filter(e => e.querySelector('.main-svg')).length"
    )
    assert drawn == charts and page.problems == []
