"""The dashboard's scenario editor and its jobs: write or start from an example or a stored scenario, validate it
(each problem listed with its field path exactly as ``fab2token validate`` prints it), launch ``run``, ``plan`` or
``sweep`` as a background job (:mod:`.jobs`), follow it and cancel it.

What a request may carry is bounded: the form body at most :data:`MAX_BODY_BYTES` (the scenario text is parsed by
the same bounded YAML reader as a file), no path on the server (a scenario from the browser may not name a
``weather_csv`` or a ``fabline_result``: files are not uploaded yet), and every form that changes something
carries the CSRF token of the browser's cookie (compared in constant time).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from fab2token.errors import Fab2TokenError, ScenarioError, clip
from fab2token.web.jobs import KINDS, JobQueue

__all__ = ["editor_routes", "MAX_BODY_BYTES", "FILE_KEYS"]

MAX_BODY_BYTES = 1 << 20  # 1 MiB: the bundled examples are 1-4 kB
FILE_KEYS = ("weather_csv", "fabline_result")  # fields that name a file on the machine that reads the scenario
_COOKIE = "fab2token_csrf"
_EXAMPLES = Path(__file__).resolve().parents[3] / "examples"  # a source checkout's examples (absent when installed)
_BLANK = "# a scenario: see docs/guide/scenario.md\nname: new\nhorizon: {start: 2026-01, months: 24}\n"


def _examples() -> dict[str, Path]:
    if not _EXAMPLES.is_dir():
        return {}
    return {
        p.stem: p for p in sorted(_EXAMPLES.glob("*.yaml")) if p.stem != "mini-fab" and not p.stem.startswith("race")
    }


def _names_a_file(data: Any) -> str | None:
    """The path of the first field that names a file, if any."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                path = f"{where}.{k}" if where else str(k)
                if k in FILE_KEYS:
                    return path
                stack.append((path, v))
        elif isinstance(node, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(node))
    return None


def check_text(text: str) -> tuple[str, list[str]]:
    """(the scenario's name, every problem as ``validate`` prints it); no problems: it may be launched."""
    from fab2token.scenario import parse_scenario
    from fab2token.scenario.yamltext import load_yaml

    where = "<editor>"
    try:
        data = load_yaml(text, where)
        found = _names_a_file(data)
        if found:
            return "", [
                f"{where}: {found}: names a file on the server; the editor takes scenarios without files "
                "(run it with `fab2token run FILE` where its files are)"
            ]
        sc = parse_scenario(text, where)
    except ScenarioError as exc:
        return "", [str(i) for i in exc.issues]
    except Fab2TokenError as exc:
        return "", [clip(str(exc))]
    return sc.name, []


def _source_text(db: Path, source: str) -> str:
    """The text to start from: ``example:NAME``, ``run:ID``, ``plan:ID``, ``sweep:ID`` or nothing (a blank)."""
    kind, _, name = source.partition(":")
    if kind == "example" and name in _examples():
        return _examples()[name].read_text(encoding="utf-8")
    if kind in ("run", "plan", "sweep") and name:
        from fab2token.io import plan_store, store, sweep_store

        load = {"run": store.load_run, "plan": plan_store.load_plan, "sweep": sweep_store.load_sweep}[kind]
        return str(load(db, name)["scenario_text"])
    return _BLANK


def _token(request: Request) -> str:
    return request.cookies.get(_COOKIE) or secrets.token_urlsafe(24)


def _with_cookie(resp: Response, token: str) -> Response:
    resp.set_cookie(_COOKIE, token, httponly=True, samesite="strict")
    return resp


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form, bounded in size, its CSRF token checked against the cookie."""
    from fab2token.web.app import PageError

    size = int(request.headers.get("content-length") or 0)
    if size > MAX_BODY_BYTES:
        raise PageError(413, "Too large", f"the form is {size:,} bytes; at most {MAX_BODY_BYTES:,}")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise PageError(413, "Too large", f"the form is {len(body):,} bytes; at most {MAX_BODY_BYTES:,}")
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    cookie = request.cookies.get(_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("csrf", "")):
        raise PageError(403, "Forbidden", "the form's CSRF token does not match this browser's: reload the page")
    return form


def editor_routes(app: FastAPI, db: Path, page: Callable[..., HTMLResponse]) -> None:
    """The editor's and the jobs' routes on ``app``; ``page(template, status, **context)`` renders a page."""
    from fab2token.web.app import PageError

    jobs = JobQueue(db)
    app.state.jobs = jobs

    @app.get("/edit", response_class=HTMLResponse)
    def edit(request: Request, source: str = "") -> Response:
        from fab2token.io.storefile import StoreError

        try:
            text = _source_text(db, source)
        except StoreError as exc:
            raise PageError(404, "Not found", str(exc)) from None
        token = _token(request)
        ctx = {"text": text, "problems": None, "examples": list(_examples()), "csrf": token, "kinds": KINDS}
        return _with_cookie(page("edit.html.j2", 200, **ctx), token)

    @app.post("/edit", response_class=HTMLResponse)
    async def submit(request: Request) -> Response:
        form = await _form(request)
        text, action = form.get("text", ""), form.get("action", "validate")
        if action not in ("validate", *KINDS):
            raise PageError(
                400, "Bad request", f"action: got {clip(action, 40)!r}; expected validate, run, plan or sweep"
            )
        name, problems = check_text(text)
        if problems or action == "validate":
            ctx = {
                "text": text,
                "problems": problems,
                "examples": list(_examples()),
                "csrf": form["csrf"],
                "kinds": KINDS,
                "scenario_name": name,
            }
            return page("edit.html.j2", 200 if not problems else 422, **ctx)
        job = jobs.submit(action, text, name)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @app.post("/edit/check")
    async def check(request: Request) -> JSONResponse:
        """Validate as you type: the editor's script posts the text (with the page's CSRF token) and shows the
        problems ``validate`` would print, field path first, next to the text."""
        form = await _form(request)
        name, problems = check_text(form.get("text", ""))
        return JSONResponse({"ok": not problems, "scenario": name, "problems": problems})

    @app.get("/jobs", response_class=HTMLResponse)
    def job_list(request: Request) -> Response:
        token = _token(request)
        return _with_cookie(page("jobs.html.j2", 200, jobs=jobs.listed(), job=None, csrf=token), token)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(request: Request, job_id: str) -> Response:
        job = jobs.jobs.get(job_id)
        if job is None:
            raise PageError(404, "Not found", f"no job {clip(job_id, 40)!r} (jobs are kept while the dashboard runs)")
        token = _token(request)
        return _with_cookie(page("jobs.html.j2", 200, jobs=[], job=job.view(), csrf=token), token)

    @app.post("/jobs/{job_id}/cancel")
    async def job_cancel(request: Request, job_id: str) -> Response:
        await _form(request)
        if jobs.cancel(job_id) is None:
            raise PageError(404, "Not found", f"no job {clip(job_id, 40)!r}")
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)
