"""The dashboard: a FastAPI app over one results store, pages rendered with Jinja2 (autoescaped), plotly.js served
from the installed plotly package (nothing is fetched from the network).

Every page reads the store through the functions the CLI calls (:mod:`fab2token.web.views`). The store is opened
read-only for each request and closed again, so a CLI run can write to it while the dashboard is up (it waits for
the lock as the CLI does). An unknown id is a 404 page with the message the CLI prints; a damaged store an error
page naming the file; an unexpected error a one-line page, its traceback only in the server's log.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from fab2token.io.storefile import StoreBusyError, StoreError
from fab2token.options import Number, check_options, refuse
from fab2token.web import views
from fab2token.web.csp import STRICT_POLICY, page_policy

__all__ = ["create_app", "check_serve", "serve", "plotly_js_path", "LOOPBACK_HOSTS"]

_HERE = Path(__file__).resolve().parent
# the hosts the dashboard binds without an access token (any other needs one: web/auth.py)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# headers on every response: no sniffing of downloads as pages, no framing by other sites
_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
# plotly.min.js is versioned with the installed package: browsers may keep it for a day
_JS_MAX_AGE_S = 86_400

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["number"] = views.number


class PageError(Exception):
    """A page that cannot be shown: its HTTP status and the message to show."""

    def __init__(self, status: int, title: str, message: str):
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def plotly_js_path() -> Path:
    """The plotly.js bundle the installed plotly package ships (``plotly/package_data/plotly.min.js``)."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def _page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page, with the Content-Security-Policy that lets its own inline scripts (its charts) run and no others."""
    html = _env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers={"Content-Security-Policy": page_policy(html)})


def _failure(db: Path, exc: StoreError) -> PageError:
    """Tell an id the store does not hold (404) from a store that cannot be read (busy: 503, damaged: 500)."""
    if isinstance(exc, StoreBusyError):
        return PageError(503, "The store is busy", str(exc))
    from fab2token.io import plan_store, store

    try:
        store.list_runs(db)
        plan_store.list_plans(db)
    except StoreError as damaged:
        return PageError(500, "The results store cannot be read", str(damaged))
    return PageError(404, "Not found", str(exc))


# pages read from the store, kept while the store is unchanged: a stored run, plan or sweep never changes, and any
# write (a new run, a removed one) changes the store's file or its write-ahead log, which the key includes
_PAGE_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_PAGE_CACHE_SIZE = 64
_PAGE_CACHE_LOCK = threading.Lock()


def _store_version(db: Path) -> tuple[Any, ...]:
    out: list[Any] = [str(db)]
    for p in (db, db.with_name(db.name + ".wal")):
        try:
            st = p.stat()
            out += [st.st_mtime_ns, st.st_size]
        except OSError:
            out += [None, None]
    return tuple(out)


_PAGE_LOCKS: dict[tuple[Any, ...], threading.Lock] = {}


def _cached(db: Path, fn: Any, *args: Any) -> Any:
    """``fn(db, *args)``, computed once per version of the store: a page many clients ask for at once is rendered
    by one of them while the others wait for it (not once each)."""
    key = (fn.__name__, args, _store_version(db))
    with _PAGE_CACHE_LOCK:
        if key in _PAGE_CACHE:
            _PAGE_CACHE.move_to_end(key)
            return _PAGE_CACHE[key]
        lock = _PAGE_LOCKS.setdefault(key, threading.Lock())
    with lock:
        with _PAGE_CACHE_LOCK:
            if key in _PAGE_CACHE:
                return _PAGE_CACHE[key]
        try:
            value = fn(db, *args)
        finally:  # a page that fails (an unknown id) leaves no lock behind
            with _PAGE_CACHE_LOCK:
                _PAGE_LOCKS.pop(key, None)
        with _PAGE_CACHE_LOCK:
            _PAGE_CACHE[key] = value
            while len(_PAGE_CACHE) > _PAGE_CACHE_SIZE:
                _PAGE_CACHE.popitem(last=False)
    return value


def _stored(db: Path, fn: Any, *args: Any) -> Any:
    try:
        return _cached(db, fn, *args)
    except StoreError as exc:
        raise _failure(db, exc) from None


def _attachment(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _index(request: Request, db: Path, q: str, kind: str) -> HTMLResponse:
    if kind and kind not in views.KINDS:
        raise PageError(400, "Bad filter", f"kind: got {kind!r}; expected one of {', '.join(views.KINDS)} (or none)")
    notice = ""
    try:
        items = _cached(db, views.stored_items)
    except StoreError as exc:
        if db.exists():
            raise _failure(db, exc) from None
        items, notice = [], str(exc)  # no store yet: an empty list that says how to make one
    shown = views.filter_items(items, q, kind)
    return _page("index.html.j2", items=shown, all_items=items, q=q, kind=kind, kinds=views.KINDS, notice=notice)


def _other_kind(db: Path, kind: str, ident: str) -> str | None:
    """The page of ``ident`` when it names the other kind (``/runs/PLANID`` goes to the plan, as ``show`` does)."""
    from fab2token.io import plan_store, store

    try:
        if kind == "run" and plan_store.is_plan(db, ident):
            return f"/plans/{plan_store.load_plan(db, ident)['plan_id']}"
        if kind == "plan":
            return f"/runs/{store.load_run(db, ident)['run_id']}"
    except StoreError:
        return None
    return None


def _download(db: Path, kind: str, ident: str, fmt: str) -> Response:
    from fab2token.io.export import FORMATS

    if fmt not in FORMATS:
        raise PageError(
            404, "Not found", f"series.{fmt}: no such download; expected series.{', series.'.join(FORMATS)}"
        )
    rid, body = _stored(db, views.series_download, kind, ident, fmt)
    name = _attachment(f"{kind}-{rid}-series.{fmt}")
    return Response(body, media_type=FORMATS[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _routes(app: FastAPI, db: Path) -> None:
    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, q: str = "", kind: str = "") -> HTMLResponse:
        return _index(request, db, q, kind)

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run(run_id: str) -> Response:
        try:
            page = _cached(db, views.run_page, run_id)
        except StoreError as exc:
            other = _other_kind(db, "run", run_id)
            if other:
                return RedirectResponse(other, status_code=307)
            raise _failure(db, exc) from None
        return _page("run.html.j2", **page)

    @app.get("/runs/{run_id}/series.{fmt}")
    def run_series(run_id: str, fmt: str) -> Response:
        return _download(db, "run", run_id, fmt)

    @app.get("/plans/{plan_id}", response_class=HTMLResponse)
    def plan(plan_id: str) -> Response:
        try:
            page = _cached(db, views.plan_page, plan_id)
        except StoreError as exc:
            other = _other_kind(db, "plan", plan_id)
            if other:
                return RedirectResponse(other, status_code=307)
            raise _failure(db, exc) from None
        return _page(page.get("template", "plan.html.j2"), **page)

    @app.get("/plans/{plan_id}/series.{fmt}")
    def plan_series(plan_id: str, fmt: str) -> Response:
        return _download(db, "plan", plan_id, fmt)

    @app.get("/sweeps/{sweep_id}", response_class=HTMLResponse)
    def sweep(sweep_id: str) -> Response:
        return _page("sweep.html.j2", **_stored(db, views.sweep_page, sweep_id))

    @app.get("/races/{race_id}", response_class=HTMLResponse)
    def race(race_id: str) -> Response:
        return _page("race.html.j2", **_stored(db, views.race_page, race_id))

    @app.get("/compare", response_class=HTMLResponse)
    def compare(a: str = "", b: str = "") -> HTMLResponse:
        items = _stored(db, views.stored_items) if db.exists() else []
        page = _stored(db, views.compare_page, a, b) if a and b else None
        return _page("compare.html.j2", a=a, b=b, items=items, page=page, figures=page["figures"] if page else [])

    @app.get("/static/plotly.min.js")
    def plotly_js() -> FileResponse:
        return FileResponse(
            plotly_js_path(), media_type="text/javascript", headers={"Cache-Control": f"max-age={_JS_MAX_AGE_S}"}
        )


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(PageError)
    def page_error(request: Request, exc: PageError) -> HTMLResponse:
        return _page("error.html.j2", exc.status, title=exc.title, message=exc.message, status=exc.status)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        return _page(
            "error.html.j2",
            exc.status_code,
            title="Not found" if exc.status_code == 404 else "Error",
            message=f"{request.url.path}: {message}",
            status=exc.status_code,
        )

    @app.exception_handler(RequestValidationError)
    def bad_request(request: Request, exc: RequestValidationError) -> HTMLResponse:
        lines = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()]
        return _page("error.html.j2", 400, title="Bad request", message="; ".join(lines), status=400)

    @app.exception_handler(Exception)
    def internal(request: Request, exc: Exception) -> HTMLResponse:
        message = f"internal error: {type(exc).__name__} (a bug in fab2token; the traceback is in the server's log)"
        return _page("error.html.j2", 500, title="Internal error", message=message, status=500)

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.update(_HEADERS)
        response.headers.setdefault("Content-Security-Policy", STRICT_POLICY)  # pages set their own
        return response


def create_app(db: str | Path, token: str | None = None) -> FastAPI:
    """The dashboard over the results store ``db`` (which need not exist yet: the list then says how to make it);
    with ``token``, every route but the sign-in page requires it (:mod:`fab2token.web.auth`)."""
    app = FastAPI(title="fab2token", docs_url=None, redoc_url=None, openapi_url=None)
    path = Path(db)
    _routes(app, path)
    from fab2token.web.editor import editor_routes

    editor_routes(app, path, _page)
    _handlers(app)
    if token is not None:
        from fab2token.web.auth import add_token_auth

        add_token_auth(app, token, _page)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    return app


def check_serve(host: str, port: int, token: str | None = None) -> None:
    """Refuse, before anything starts, what :func:`serve` cannot serve on.

    Raises
    ------
    OptionError
        ``host`` is not a loopback address and no access token is given, a token shorter than
        :data:`fab2token.web.auth.MIN_TOKEN_CHARS`, or ``port`` not a whole number in [1, 65535].
    """
    from fab2token.web.auth import MIN_TOKEN_CHARS, TOKEN_ENV

    check_options("serve", {"port": port}, {"port": Number(low=1, high=65535, whole=True)})
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        refuse("serve", "token", f"({len(token)} characters)", f"a token of at least {MIN_TOKEN_CHARS} characters")
    if host not in LOOPBACK_HOSTS and token is None:
        refuse(
            "serve",
            "host",
            host,
            f"a loopback address ({', '.join(LOOPBACK_HOSTS)}), or an access token (--token or ${TOKEN_ENV}) to "
            "serve other machines",
        )


def serve(db: str | Path, host: str = "127.0.0.1", port: int = 8000, token: str | None = None) -> None:
    """Serve the dashboard over ``db`` at ``http://host:port`` until interrupted (:func:`check_serve` first)."""
    check_serve(host, port, token)
    import uvicorn

    uvicorn.run(create_app(db, token), host=host, port=port, log_level="info")
