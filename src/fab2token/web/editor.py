"""The dashboard's scenario editor and its jobs: write or start from an example or a stored scenario, validate it
(each problem listed with its field path exactly as ``fab2token validate`` prints it), launch ``run``, ``plan`` or
``sweep`` as a background job (:mod:`.jobs`), follow it and cancel it.

What a request may carry is bounded: the form body at most :data:`MAX_BODY_BYTES`, or :data:`MAX_UPLOAD_BYTES` with
files (the scenario text is parsed by the same bounded YAML reader as a file), no path on the server (a
``weather_csv`` or ``fabline_result`` names a file uploaded with the scenario, by its name: :mod:`.uploads`), and
every form that changes something carries the CSRF token of the browser's cookie (compared in constant time).
"""

from __future__ import annotations

import hmac
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from fab2token.errors import Fab2TokenError, InputIssue, ScenarioError, clip
from fab2token.web.jobs import KINDS, JobQueue
from fab2token.web.uploads import MAX_FILES, NAME, Uploads

__all__ = ["editor_routes", "MAX_BODY_BYTES", "MAX_UPLOAD_BYTES", "FILE_KEYS", "check_text"]

MAX_BODY_BYTES = 1 << 20  # 1 MiB: the bundled examples are 1-4 kB
# with files: a typical year of dry bulb alone is ~70 kB, a full EPW-style year (35 fields) ~2 MB
MAX_UPLOAD_BYTES = 4 << 20
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


def _named_files(data: Any) -> list[tuple[str, Any]]:
    """(field path, value) of every field that names a file."""
    found: list[tuple[str, Any]] = []
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                path = f"{where}.{k}" if where else str(k)
                if k in FILE_KEYS and v is not None:
                    found.append((path, v))
                else:
                    stack.append((path, v))
        elif isinstance(node, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(node))
    return found


def _file_issues(where: str, data: Any, files: dict[str, bytes]) -> list[str]:
    """A field naming a file must name one uploaded with the scenario, by its name alone."""
    have = ", ".join(sorted(files)) or "none"
    expected = (
        f"expected the name of a file uploaded with the scenario (uploaded: {have}; the dashboard keeps uploads "
        "while it runs: upload it again if it was)"
    )
    return [str(InputIssue(where, path, v, expected)) for path, v in _named_files(data) if v not in files]


def check_text(text: str, files: dict[str, bytes] | None = None) -> tuple[str, list[str]]:
    """(the scenario's name, every problem as ``validate`` prints it); no problems: it may be launched. ``files``
    (name: content) are the files uploaded with it, which its ``weather_csv`` and ``fabline_result`` may name."""
    from fab2token.scenario import parse_scenario
    from fab2token.scenario.files import files_in
    from fab2token.scenario.yamltext import load_yaml

    where, files = "<editor>", files or {}
    with tempfile.TemporaryDirectory(prefix="fab2token-check-") as d:
        folder = Path(d).resolve()
        try:
            data = load_yaml(text, where)
            problems = _file_issues(where, data, files)
            if problems:
                return "", problems
            Uploads.materialise(files, folder)
            with files_in(folder):
                sc = parse_scenario(text, where)
        except ScenarioError as exc:
            return "", [str(i).replace(f"{folder}/", "") for i in exc.issues]
        except Fab2TokenError as exc:
            return "", [clip(str(exc).replace(f"{folder}/", ""))]
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


@dataclass
class _Posted:
    """A posted editor form: its fields, and the files it carries (those uploaded now and those it kept)."""

    fields: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # name: reference (:meth:`Uploads.put`)


async def _read_body(request: Request) -> None:
    """The body, bounded in size before and after reading (413 beyond)."""
    from fab2token.web.app import PageError

    multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
    limit = MAX_UPLOAD_BYTES if multipart else MAX_BODY_BYTES
    size = int(request.headers.get("content-length") or 0)
    if size <= limit:
        size = len(await request.body())
    if size > limit:
        with_files = " with files" if multipart else ""
        raise PageError(413, "Too large", f"the form is {size:,} bytes; at most {limit:,}{with_files}")


async def _form(request: Request, uploads: Uploads) -> _Posted:
    """The form (urlencoded, or multipart with files), bounded in size, its CSRF token checked against the cookie;
    the files it uploads kept in ``uploads``, those it names by reference read back from there."""
    from fab2token.web.app import PageError

    await _read_body(request)
    form = await request.form(max_files=MAX_FILES, max_fields=2 * MAX_FILES + 8, max_part_size=MAX_BODY_BYTES)
    cookie = request.cookies.get(_COOKIE, "")
    csrf = form.get("csrf")
    if not cookie or not isinstance(csrf, str) or not hmac.compare_digest(cookie, csrf):
        raise PageError(403, "Forbidden", "the form's CSRF token does not match this browser's: reload the page")
    posted = _Posted({k: v for k, v in form.items() if isinstance(v, str) and k not in ("attached", "drop")})
    dropped = set(form.getlist("drop"))
    for ref in form.getlist("attached"):
        got = uploads.get(ref) if isinstance(ref, str) and ref not in dropped else None
        if got is not None:  # a forgotten one is asked for again by the check
            posted.files[got[0]], posted.refs[got[0]] = got[1], ref
    for part in form.getlist("upload"):
        if not isinstance(part, UploadFile) or not part.filename:
            continue  # the file input left empty
        name = Path(part.filename).name
        if NAME.fullmatch(name) is None:
            raise PageError(
                400, "Bad request", f"upload: file name {clip(name, 60)!r}; expected letters, digits, '.', '_', '-'"
            )
        data = await part.read()
        posted.files[name], posted.refs[name] = data, uploads.put(name, data)
    return posted


def editor_routes(app: FastAPI, db: Path, page: Callable[..., HTMLResponse]) -> None:
    """The editor's and the jobs' routes on ``app``; ``page(template, status, **context)`` renders a page."""
    from fab2token.web.app import PageError

    jobs, uploads = JobQueue(db), Uploads()
    app.state.jobs, app.state.uploads = jobs, uploads

    def editor_page(status: int, text: str, csrf: str, **more: Any) -> HTMLResponse:
        ctx = {"text": text, "problems": None, "examples": list(_examples()), "csrf": csrf, "kinds": KINDS}
        ctx["max_upload_bytes"] = MAX_UPLOAD_BYTES
        return page("edit.html.j2", status, **{**ctx, "attached": [], **more})

    @app.get("/edit", response_class=HTMLResponse)
    def edit(request: Request, source: str = "") -> Response:
        from fab2token.io.storefile import StoreError

        try:
            text = _source_text(db, source)
        except StoreError as exc:
            raise PageError(404, "Not found", str(exc)) from None
        token = _token(request)
        return _with_cookie(editor_page(200, text, token), token)

    @app.post("/edit", response_class=HTMLResponse)
    async def submit(request: Request) -> Response:
        form = await _form(request, uploads)
        text, action = form.fields.get("text", ""), form.fields.get("action", "validate")
        if action not in ("validate", *KINDS):
            raise PageError(
                400, "Bad request", f"action: got {clip(action, 40)!r}; expected validate, run, plan or sweep"
            )
        name, problems = check_text(text, form.files)
        if problems or action == "validate":
            attached = [{"name": n, "ref": r, "bytes": len(form.files[n])} for n, r in sorted(form.refs.items())]
            ctx = {"problems": problems, "scenario_name": name, "attached": attached}
            return editor_page(200 if not problems else 422, text, form.fields["csrf"], **ctx)
        job = jobs.submit(action, text, name, form.files)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @app.post("/edit/check")
    async def check(request: Request) -> JSONResponse:
        """Validate as you type: the editor's script posts the form (the text, the page's CSRF token and its
        files) and shows the problems ``validate`` would print, field path first, next to the text."""
        form = await _form(request, uploads)
        name, problems = check_text(form.fields.get("text", ""), form.files)
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
        await _form(request, uploads)
        if jobs.cancel(job_id) is None:
            raise PageError(404, "Not found", f"no job {clip(job_id, 40)!r}")
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)
