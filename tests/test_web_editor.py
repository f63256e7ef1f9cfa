"""The dashboard's editor and jobs (issue 18, second step): validation that lists each problem as `validate` prints
it, launching run / plan / sweep as background jobs that store their results, cancelling, and what a request may
not do (no CSRF token, a body too large, a scenario naming a file on the server), and the files uploaded with a
scenario (a weather year by its name)."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fab2token.cli import app
from fab2token.io import store
from fab2token.io.sweep_store import list_sweeps
from fab2token.web import app as web
from fab2token.web.editor import MAX_BODY_BYTES, MAX_UPLOAD_BYTES
from fab2token.web.uploads import MAX_FILES
from tests.conftest import EXAMPLES

SMALL = (EXAMPLES / "small.yaml").read_text()


@pytest.fixture
def client(tmp_path):
    c = TestClient(web.create_app(tmp_path / "db.duckdb"))
    c.db = tmp_path / "db.duckdb"
    return c


def _csrf(client) -> str:
    page = client.get("/edit")
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def _wait(client, job_url: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = client.get(job_url).text
        status = re.search(r'id="status"><b>(\w+)</b>', text).group(1)
        if status not in ("queued", "running"):
            return text
        time.sleep(0.2)
    raise AssertionError(f"{job_url} did not finish in {timeout_s} s")


def test_an_example_opens_in_the_editor_and_validates(client):
    page = client.get("/edit", params={"source": "example:small"})
    assert page.status_code == 200 and "small-two-site" in page.text
    res = client.post("/edit", data={"csrf": _csrf(client), "text": SMALL, "action": "validate"})
    assert res.status_code == 200 and "OK: small-two-site validates" in res.text


def test_each_problem_is_listed_as_validate_prints_it(client, tmp_path):
    bad = SMALL.replace("pue: 1.2", "pue: 0.5").replace("months: 24", 'months: "[bold]x"')
    res = client.post("/edit", data={"csrf": _csrf(client), "text": bad, "action": "run"})
    assert res.status_code == 422
    (tmp_path / "bad.yaml").write_text(bad)
    cli = CliRunner().invoke(app, ["validate", str(tmp_path / "bad.yaml")])
    printed = [line.strip()[2:].split(": ", 1)[1] for line in cli.stderr.splitlines() if line.strip().startswith("- ")]
    shown = re.findall(r'<li class="problem">(.*?)</li>', res.text)
    assert len(shown) == len(printed) >= 2
    for mine, theirs in zip(shown, printed, strict=True):
        assert mine.split(": ", 1)[1] == theirs.replace("'", "&#39;")  # the same message, escaped
    assert store.list_runs(client.db) == [] if client.db.exists() else True  # nothing launched


def test_a_run_launched_from_the_editor_is_stored_and_linked(client):
    res = client.post("/edit", data={"csrf": _csrf(client), "text": SMALL, "action": "run"}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].startswith("/jobs/")
    page = _wait(client, res.headers["location"])
    assert "<b>done</b>" in page
    run_id = re.search(r'href="/runs/([0-9a-f]+)"', page).group(1)
    assert [r["run_id"] for r in store.list_runs(client.db)] == [run_id]
    assert client.get("/jobs").text.count(run_id) >= 1
    assert client.get(f"/runs/{run_id}").status_code == 200


def test_a_sweep_job_can_be_cancelled(client):
    text = (EXAMPLES / "uncertain.yaml").read_text()
    csrf = _csrf(client)
    res = client.post("/edit", data={"csrf": csrf, "text": text, "action": "sweep"}, follow_redirects=False)
    url = res.headers["location"]
    cancel = client.post(url + "/cancel", data={"csrf": csrf}, follow_redirects=False)
    assert cancel.status_code == 303
    assert "<b>cancelled</b>" in _wait(client, url)
    rows = list_sweeps(client.db) if client.db.exists() else []
    assert all(r["status"] != "complete" for r in rows)  # stopped before it finished


def test_what_a_request_may_not_do(client):
    csrf = _csrf(client)
    no_token = client.post("/edit", data={"text": SMALL, "action": "run"})
    assert no_token.status_code == 403 and "CSRF" in no_token.text
    wrong = client.post("/edit", data={"csrf": "x" + csrf, "text": SMALL, "action": "run"})
    assert wrong.status_code == 403
    big = client.post("/edit", data={"csrf": csrf, "text": "#" * (MAX_BODY_BYTES + 10), "action": "validate"})
    assert big.status_code == 413
    files = SMALL.replace("climate: us-virginia-ashburn", "weather_csv: /etc/passwd")
    res = client.post("/edit", data={"csrf": csrf, "text": files, "action": "validate"})
    assert res.status_code == 422 and "sites[0].weather_csv: got &#39;/etc/passwd&#39;; expected the name" in res.text
    assert "root:" not in res.text  # nothing on the server was read
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    res = client.post("/edit", data={"csrf": csrf, "text": bomb, "action": "validate"})
    assert res.status_code == 422 and "alias" in res.text
    bad_action = client.post("/edit", data={"csrf": csrf, "text": SMALL, "action": "rm -rf"})
    assert bad_action.status_code == 400
    assert client.get("/jobs/j999").status_code == 404
    assert client.post("/jobs/j999/cancel", data={"csrf": csrf}).status_code == 404


def test_the_editor_checks_as_you_type(client):
    """/edit/check answers the editor's script with validate's problems (or OK), under the same CSRF rule."""
    token = _csrf(client)
    bad = SMALL.replace("pue: 1.2", "pue: 0.5")
    res = client.post("/edit/check", data={"csrf": token, "text": bad})
    assert res.status_code == 200 and res.headers["content-type"].startswith("application/json")
    body = res.json()
    assert body["ok"] is False and any("sites[0].pue: got 0.5" in p for p in body["problems"])
    good = client.post("/edit/check", data={"csrf": token, "text": SMALL}).json()
    assert good == {"ok": True, "scenario": "small-two-site", "problems": []}
    assert client.post("/edit/check", data={"csrf": "forged", "text": SMALL}).status_code == 403
    big = client.post("/edit/check", data={"csrf": token, "text": "x" * (MAX_BODY_BYTES + 1)})
    assert big.status_code == 413
    page = client.get("/edit")
    assert '<script src="/static/editor.js"></script>' in page.text
    assert client.get("/static/editor.js").status_code == 200


def test_every_response_carries_a_content_security_policy(client):
    """Pages allow scripts from the dashboard and their own inline scripts by hash, nothing else; other responses
    the strictest policy."""
    import base64
    import hashlib

    from fab2token.web.csp import STRICT_POLICY, page_policy

    page = client.get("/edit")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "'unsafe-eval'" not in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    html = '<div></div><script type="text/javascript">Plotly.newPlot("a", [])</script><script src="/x.js"></script>'
    digest = base64.b64encode(hashlib.sha256(b'Plotly.newPlot("a", [])').digest()).decode()
    assert page_policy(html).count("'sha256-") == 1 and f"'sha256-{digest}'" in page_policy(html)
    assert client.get("/static/editor.js").headers["content-security-policy"] == STRICT_POLICY


def _year(offset_c: float = 0.0) -> bytes:
    """A typical year of hourly dry bulb: 8,760 rows of a daily and a seasonal swing around 14 °C."""
    import numpy as np

    h = np.arange(8760)
    t = 14 + offset_c + 10 * np.sin(2 * np.pi * (h / 8760 - 0.3)) + 4 * np.sin(2 * np.pi * (h / 24 - 0.4))
    return ("dry_bulb_c\n" + "\n".join(f"{v:.2f}" for v in t) + "\n").encode()


WEATHER = SMALL.replace("climate: us-virginia-ashburn", "weather_csv: alpha.csv")


def _attached(page: str) -> list[str]:
    return re.findall(r'name="attached" value="([^"]+)"', page)


def test_a_weather_file_uploaded_with_the_scenario_validates_and_is_kept_on_the_page(client):
    csrf = _csrf(client)
    missing = client.post("/edit", data={"csrf": csrf, "text": WEATHER, "action": "validate"})
    assert missing.status_code == 422
    assert "sites[0].weather_csv: got &#39;alpha.csv&#39;; expected the name of a file uploaded" in missing.text
    up = {"upload": ("alpha.csv", _year(), "text/csv")}
    res = client.post("/edit", data={"csrf": csrf, "text": WEATHER, "action": "validate"}, files=up)
    assert res.status_code == 200 and "OK: small-two-site validates" in res.text
    refs = _attached(res.text)
    assert len(refs) == 1 and refs[0].endswith(":alpha.csv") and "alpha.csv</code>" in res.text
    # the page carries the reference, not the file: validating again without uploading it
    again = client.post("/edit", data={"csrf": csrf, "text": WEATHER, "action": "validate", "attached": refs})
    assert again.status_code == 200 and _attached(again.text) == refs
    dropped = client.post(
        "/edit", data={"csrf": csrf, "text": WEATHER, "action": "validate", "attached": refs, "drop": refs}
    )
    assert dropped.status_code == 422 and _attached(dropped.text) == []
    forged = client.post(
        "/edit", data={"csrf": csrf, "text": WEATHER, "action": "validate", "attached": "0" * 32 + ":alpha.csv"}
    )
    assert forged.status_code == 422  # a reference to nothing uploaded is no file


def test_an_uploaded_weather_file_is_checked_as_validate_checks_it(client, tmp_path):
    """A bad year is reported against the field, as `validate` reports it, with no server path in it."""
    csrf = _csrf(client)
    short = {"upload": ("alpha.csv", b"dry_bulb_c\n" + b"1\n" * 100, "text/csv")}
    res = client.post("/edit", data={"csrf": csrf, "text": WEATHER, "action": "validate"}, files=short)
    assert res.status_code == 422 and "sites[0].weather_csv" in res.text and "8760" in res.text
    assert "fab2token-check-" not in res.text and str(tmp_path) not in res.text
    (tmp_path / "alpha.csv").write_bytes(b"dry_bulb_c\n" + b"1\n" * 100)
    (tmp_path / "s.yaml").write_text(WEATHER)
    cli = CliRunner().invoke(app, ["validate", str(tmp_path / "s.yaml")])
    assert cli.exit_code == 2 and "sites[0].weather_csv" in cli.stderr
    latin1 = {"upload": ("alpha.csv", "dry_bulb_c\n\xb0\n".encode("latin-1"), "text/csv")}
    res = client.post("/edit", data={"csrf": csrf, "text": WEATHER, "action": "validate"}, files=latin1)
    assert res.status_code == 422 and "UTF-8" in res.text


def test_what_an_upload_may_not_be(client):
    csrf = _csrf(client)
    up = {"upload": ("../../alpha.csv", _year(), "text/csv")}  # a folder in the name is dropped, as browsers do
    res = client.post("/edit", data={"csrf": csrf, "text": WEATHER, "action": "validate"}, files=up)
    assert res.status_code == 200 and _attached(res.text)[0].endswith(":alpha.csv")
    for name in (".hidden", "a b.csv", "ünï.csv"):
        up = {"upload": (name, _year(), "text/csv")}
        res = client.post("/edit", data={"csrf": csrf, "text": WEATHER, "action": "validate"}, files=up)
        assert res.status_code == 400 and "upload: file name" in res.text, name
    big = {"upload": ("alpha.csv", b"dry_bulb_c\n" + b"1.0\n" * (MAX_UPLOAD_BYTES // 4), "text/csv")}
    res = client.post("/edit", data={"csrf": csrf, "text": WEATHER, "action": "validate"}, files=big)
    assert res.status_code == 413 and "with files" in res.text
    no_token = client.post("/edit", data={"text": WEATHER, "action": "validate"}, files={"upload": ("a.csv", b"x")})
    assert no_token.status_code == 403
    many = [("upload", (f"f{i}.csv", b"x", "text/csv")) for i in range(MAX_FILES + 1)]
    res = client.post("/edit", data={"csrf": csrf, "text": WEATHER, "action": "validate"}, files=many)
    assert res.status_code == 400


def test_a_run_launched_with_its_weather_file_uses_it(client):
    """The job runs the scenario beside its uploaded year: a hotter year gives a higher PUE than a cooler one."""
    csrf = _csrf(client)
    pue = []
    for offset in (-8.0, 8.0):
        up = {"upload": ("alpha.csv", _year(offset), "text/csv")}
        res = client.post(
            "/edit", data={"csrf": csrf, "text": WEATHER, "action": "run"}, files=up, follow_redirects=False
        )
        assert res.status_code == 303
        page = _wait(client, res.headers["location"])
        assert "<b>done</b>" in page
        run_id = re.search(r'href="/runs/([0-9a-f]+)"', page).group(1)
        ds = store.load_dataset(client.db, run_id)
        pue.append(float(ds["pue_mean"].sel(site="alpha").mean()))
    assert pue[1] > pue[0]
