"""The dashboard (issue 18, first step): FastAPI's test client against a store the CLI made — the list with its
filters, a run's charts, summary and downloads, a plan's status and schedule, the comparison, and what goes wrong
(an unknown id, a damaged store, a name with markup, an unexpected error) shown as a page, never a traceback."""

from __future__ import annotations

import io
import json
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from markupsafe import escape
from typer.testing import CliRunner

from fab2token.cli import app
from fab2token.io import store
from fab2token.io.report import figures
from fab2token.web import app as web
from fab2token.web.auth import SESSION_COOKIE
from tests.conftest import EXAMPLES

runner = CliRunner()
# a scenario name that would run a script if a page printed it unescaped
EVIL = "<script>alert('x')</script>"


def _cli(*args: str) -> dict:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A store with the small example run, the two-site plan, and a second run of the small example under a name
    with markup and one site's PUE changed."""
    folder = tmp_path_factory.mktemp("web")
    db = str(folder / "web.duckdb")
    run_a = _cli("run", str(EXAMPLES / "small.yaml"), "--db", db, "--no-report", "--json")["run_id"]
    plan_id = _cli("plan", str(EXAMPLES / "plan-two-sites.yaml"), "--db", db, "--json")["plan_id"]
    data = yaml.safe_load((EXAMPLES / "small.yaml").read_text())
    data["name"] = EVIL
    data["sites"][0]["pue"] = 1.3
    evil_file = folder / "evil.yaml"
    evil_file.write_text(yaml.safe_dump(data, sort_keys=False))
    run_b = _cli("run", str(evil_file), "--db", db, "--no-report", "--json")["run_id"]
    return {"db": db, "run": run_a, "plan": plan_id, "evil": run_b}


@pytest.fixture(scope="module")
def client(stored):
    return TestClient(web.create_app(stored["db"]))


def test_the_list_shows_runs_and_plans_with_their_headline_numbers(client, stored):
    page = client.get("/")
    assert page.status_code == 200
    for kind in ("run", "evil", "plan"):
        assert stored[kind] in page.text
    assert f'href="/runs/{stored["run"]}"' in page.text and f'href="/plans/{stored["plan"]}"' in page.text
    assert "capex_usd_total" in page.text and "objective_usd" in page.text and "optimal" in page.text


def _listed(text: str) -> set[str]:
    """The ids the list's table links to (the compare form below it names every id)."""
    return set(re.findall(r'href="/(?:runs|plans)/([0-9a-f]+)"', text))


def test_the_list_filters_by_kind_and_text_on_the_server(client, stored):
    assert _listed(client.get("/", params={"kind": "plan"}).text) == {stored["plan"]}
    assert _listed(client.get("/", params={"kind": "run"}).text) == {stored["run"], stored["evil"]}
    by_name = client.get("/", params={"q": "SMALL-two"})  # any case, part of the scenario name
    assert _listed(by_name.text) == {stored["run"]} and 'value="SMALL-two"' in by_name.text
    assert _listed(client.get("/", params={"q": stored["plan"][:6]}).text) == {stored["plan"]}
    assert _listed(client.get("/", params={"q": "small", "kind": "plan"}).text) == set()
    nothing = client.get("/", params={"q": "no such scenario"})
    assert nothing.status_code == 200 and "0 of 3 shown" in nothing.text and _listed(nothing.text) == set()
    bad = client.get("/", params={"kind": "sweeps"})
    assert bad.status_code == 400 and "kind: got &#39;sweeps&#39;; expected one of run, plan, sweep" in bad.text


def test_a_run_page_has_every_chart_of_its_report_the_summary_with_units_and_the_scenario(client, stored):
    page = client.get(f"/runs/{stored['run']}")
    assert page.status_code == 200
    ds = store.load_dataset(stored["db"], stored["run"])
    for fig in figures(ds).values():  # the report's own figures, titles as plotly writes them into the page
        assert json.dumps(fig.layout.title.text)[1:-1] in page.text
    assert page.text.count('<script src="/static/plotly.min.js"></script>') == 1
    assert "https://" not in page.text.split("<main>")[0]  # nothing loaded from the network
    summary = store.load_run(stored["db"], stored["run"])["summary"]
    row = f'<tr><td>capex_usd_total</td><td>{summary["capex_usd_total"]:,.0f}</td><td class="text">USD</td></tr>'
    assert row in page.text
    assert '<td>it_power_mw_end</td><td>49.52</td><td class="text">MW</td>' in page.text
    assert "llama-70b-15T" in page.text  # the training runs' table
    assert escape(store.load_run(stored["db"], stored["run"])["scenario_text"]) in page.text


def test_downloads_hold_every_series_in_csv_json_and_parquet(client, stored):
    ds = store.load_dataset(stored["db"], stored["run"])
    got = {}
    for fmt in ("csv", "json", "parquet"):
        res = client.get(f"/runs/{stored['run']}/series.{fmt}")
        assert res.status_code == 200
        assert f"run-{stored['run']}-series.{fmt}" in res.headers["content-disposition"]
        got[fmt] = res.content
    csv = pd.read_csv(io.BytesIO(got["csv"]))
    assert set(csv["variable"]) == set(ds.data_vars)
    for name, da in ds.data_vars.items():  # the CSV read back equals the store's series, value by value
        rows = csv[csv["variable"] == name]
        if da.dtype.kind in "fiub":
            back = rows.set_index(list(da.dims))["value"].to_xarray().transpose(*da.dims)
            back = back.reindex({d: [str(c) for c in da[d].values] for d in da.dims})
            np.testing.assert_array_equal(back.values, da.values, err_msg=name)  # CSV keeps every digit
        else:
            assert rows["label"].tolist() == [str(v) for v in da.values], name
    records = json.loads(got["json"])
    assert len(records) == len(csv) and set(records[0]) == set(csv.columns)
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM read_parquet(?)", [str(_write(got["parquet"]))])
    parquet = con.execute("SELECT * FROM t").df()
    assert len(parquet) == len(csv)
    assert parquet["value"].sum() == pytest.approx(csv["value"].sum(), rel=1e-12)


def _write(data: bytes):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "series.parquet"
    path.write_bytes(data)
    return path


def test_a_plan_page_shows_its_status_what_binds_its_schedule_and_charts(client, stored):
    page = client.get(f"/plans/{stored['plan']}")
    assert page.status_code == 200
    result = _cli("show", stored["plan"], "--db", stored["db"], "--json")
    assert f"<b>{result['status']}</b>" in page.text and "optimal" in page.text
    assert escape(result["binding"][0]["text"]) in page.text
    frontier = result["schedule"]["training"][0]
    assert f"Training {frontier['run']}: {frontier['start']} to {frontier['finish']}" in page.text
    assert "Planned IT capacity per site (cumulative)" in page.text and "Bottleneck map" in page.text
    series = client.get(f"/plans/{stored['plan']}/series.csv")
    kinds = set(pd.read_csv(io.BytesIO(series.content))["kind"])
    assert series.status_code == 200 and kinds == {"series", "dual"}


def test_an_id_of_the_other_kind_goes_to_its_page(client, stored):
    res = client.get(f"/runs/{stored['plan']}", follow_redirects=False)
    assert res.status_code == 307 and res.headers["location"] == f"/plans/{stored['plan']}"
    res = client.get(f"/plans/{stored['run'][:8]}", follow_redirects=False)
    assert res.status_code == 307 and res.headers["location"] == f"/runs/{stored['run']}"


def test_compare_lists_the_fields_that_differ_the_numbers_and_the_series(client, stored):
    page = client.get("/compare", params={"a": stored["run"], "b": stored["evil"]})
    assert page.status_code == 200
    cmp = _cli("compare", stored["run"], stored["evil"], "--db", stored["db"], "--json")
    paths = [d["path"] for d in cmp["inputs"]]
    assert "sites[0].pue" in paths and "name" in paths
    for path in paths:
        assert f'<td class="text">{escape(path)}</td>' in page.text
    assert "<td>1.2</td>" not in page.text and '<td class="text">1.2</td><td class="text">1.3</td>' in page.text
    assert "<td>capex_usd_total</td>" in page.text
    assert page.text.count("plotly-graph-div") == len(cmp["series"]) > 0
    assert client.get("/compare").status_code == 200  # the form alone


def test_an_unknown_id_is_a_404_page_with_the_message_the_cli_prints(client, stored):
    cli = runner.invoke(app, ["show", "nope", "--db", stored["db"]])
    message = cli.stderr.strip().removeprefix("error: ")
    for url in ("/runs/nope", "/runs/nope/series.csv"):
        page = client.get(url)
        assert page.status_code == 404 and escape(message) in page.text and "Traceback" not in page.text
    page = client.get("/plans/nope")
    assert page.status_code == 404 and "no plan with id &#39;nope&#39;" in page.text
    page = client.get("/compare", params={"a": stored["run"], "b": "nope"})
    assert page.status_code == 404 and "no run with id &#39;nope&#39;" in page.text
    assert client.get(f"/runs/{stored['run']}/series.xlsx").status_code == 404
    assert client.get("/no/such/page").status_code == 404


def test_a_name_with_markup_is_escaped_on_every_page(client, stored):
    escaped = escape(EVIL)
    for url in ("/", f"/runs/{stored['evil']}", f"/compare?a={stored['run']}&b={stored['evil']}"):
        page = client.get(url)
        assert page.status_code == 200
        assert EVIL not in page.text and escaped in page.text, url


def test_plotly_js_is_served_from_the_installed_package(client):
    res = client.get("/static/plotly.min.js")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/javascript")
    assert res.content == web.plotly_js_path().read_bytes()
    assert "plotly" in str(web.plotly_js_path().parent.parent.name)
    assert client.get("/static/style.css").status_code == 200


def test_a_damaged_store_is_an_error_page_naming_the_file(tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a database" * 1000)
    client = TestClient(web.create_app(bad))
    for url in ("/", "/runs/abc", "/compare?a=x&b=y"):
        page = client.get(url)
        assert page.status_code == 500, url
        assert "is not a fab2token results store" in page.text and "Traceback" not in page.text
    assert bad.read_bytes() == b"this is not a database" * 1000


def test_no_store_yet_is_an_empty_list_that_says_how_to_make_one(tmp_path):
    page = TestClient(web.create_app(tmp_path / "none.duckdb")).get("/")
    assert page.status_code == 200 and "no results store here (run `fab2token run SCENARIO" in page.text
    assert not (tmp_path / "none.duckdb").exists()


def test_an_unexpected_error_is_a_one_line_page_without_the_traceback(stored, monkeypatch):
    from fab2token.web import views

    def boom(*_a, **_k):
        raise ZeroDivisionError("secret detail")

    monkeypatch.setattr(views, "run_page", boom)
    page = TestClient(web.create_app(stored["db"]), raise_server_exceptions=False).get(f"/runs/{stored['run']}")
    assert page.status_code == 500 and "internal error: ZeroDivisionError" in page.text
    assert "secret detail" not in page.text and "Traceback" not in page.text


def test_every_response_says_not_to_sniff_or_frame(client):
    res = client.get("/")
    assert res.headers["x-content-type-options"] == "nosniff" and res.headers["x-frame-options"] == "DENY"


def test_serve_starts_uvicorn_on_loopback_and_refuses_other_hosts(stored, monkeypatch):
    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app_, **kw: started.update(kw, app=app_))
    res = runner.invoke(app, ["serve", "--db", stored["db"], "--port", "8123"])
    assert res.exit_code == 0 and "http://127.0.0.1:8123" in res.stdout
    assert started["host"] == "127.0.0.1" and started["port"] == 8123
    assert TestClient(started["app"]).get("/").status_code == 200
    started.clear()
    res = runner.invoke(app, ["serve", "--db", stored["db"], "--host", "0.0.0.0"], env={"FAB2TOKEN_TOKEN": ""})
    assert res.exit_code == 2 and "host (--host): got '0.0.0.0'; a loopback address" in res.stderr
    assert "or an access token (--token" in res.stderr
    res = runner.invoke(app, ["serve", "--db", stored["db"], "--host", "0.0.0.0", "--token", "short"])
    assert res.exit_code == 2 and "token (--token): got '(5 characters)'; a token of at least 16" in res.stderr
    assert "short" not in res.stderr.replace("(5 characters)", "")  # the token itself is never echoed
    res = runner.invoke(app, ["serve", "--db", stored["db"], "--port", "0"])
    assert res.exit_code == 2 and "port (--port): got 0" in res.stderr
    assert started == {}


def test_a_sweep_is_listed_and_its_page_has_the_ranges_the_drivers_and_the_reports_figures(tmp_path):
    from fab2token.io.sweep_report import sweep_figures
    from fab2token.io.sweep_store import load_sweep_arrays
    from fab2token.sweep.summary import summarise_sweep

    db = str(tmp_path / "s.duckdb")
    sid = _cli("sweep", str(EXAMPLES / "uncertain.yaml"), "--draws", "6", "--db", db, "--json")["sweep_id"]
    client = TestClient(web.create_app(db))
    listed = client.get("/", params={"kind": "sweep"})
    assert f'href="/sweeps/{sid}"' in listed.text and "draws 6" in listed.text
    page = client.get(f"/sweeps/{sid}")
    assert page.status_code == 200
    summary = summarise_sweep(db, sid)
    for fig in sweep_figures(summary, load_sweep_arrays(db, sid)).values():
        assert json.dumps(fig.layout.title.text)[1:-1] in page.text
    assert "supply.fab.d0_launch_per_cm2" in page.text and "training.llama-70b-15T.finish_month" in page.text
    assert page.text.count('<script src="/static/plotly.min.js"></script>') == 1
    missing = client.get("/sweeps/0000")
    assert missing.status_code == 404 and "no sweep with id" in missing.text


def test_pages_are_rendered_once_per_version_of_the_store(tmp_path):
    """Pages are kept while the store is unchanged (a page under load is rendered once); a new run changes the
    store, and the list shows it at once."""
    db = str(tmp_path / "c.duckdb")
    first = _cli("run", str(EXAMPLES / "small.yaml"), "--db", db, "--no-report", "--json")["run_id"]
    c = TestClient(web.create_app(db))
    assert first in c.get("/").text
    page = c.get(f"/runs/{first}").text
    assert c.get(f"/runs/{first}").text == page
    second = _cli("run", str(EXAMPLES / "small.yaml"), "--db", db, "--no-report", "--json")["run_id"]
    listed = c.get("/").text
    assert first in listed and second in listed


TOKEN = "t0ken-for-the-tests-0123456789"


def test_off_loopback_every_route_needs_the_token(stored, monkeypatch):
    """With a token, a request without it is sent to /login (a page) or refused (401); the bearer header or the
    session a sign-in gives opens every page; a wrong token signs nobody in."""
    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app_, **kw: started.update(kw, app=app_))
    res = runner.invoke(app, ["serve", "--db", stored["db"], "--host", "0.0.0.0"], env={"FAB2TOKEN_TOKEN": TOKEN})
    assert res.exit_code == 0 and started["host"] == "0.0.0.0" and "access token" in res.stdout
    c = TestClient(started["app"])
    page = c.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"
    for path in ("/", f"/runs/{stored['run']}", "/static/plotly.min.js", "/edit", "/jobs"):
        assert c.get(path).status_code == 401, path
    assert c.get("/login").status_code == 200 and "access token" in c.get("/login").text
    assert c.get("/", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert c.get("/", headers={"authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    bad = c.post("/login", data={"token": "wrong-token-0123456789"}, follow_redirects=False)
    assert bad.status_code == 401 and "not the token" in bad.text and SESSION_COOKIE not in bad.cookies
    good = c.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert good.status_code == 303 and SESSION_COOKIE in good.cookies
    assert "httponly" in good.headers["set-cookie"].lower() and "samesite=strict" in good.headers["set-cookie"].lower()
    assert c.get("/").status_code == 200  # the session cookie is kept by the client
    c.cookies.set(SESSION_COOKIE, "forged")
    assert c.get("/").status_code == 401
