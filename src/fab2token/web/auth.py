"""Access tokens: a dashboard on any address other than a loopback one must be given a token, and every request
then carries it, as ``Authorization: Bearer TOKEN`` (scripts) or as the session a browser gets by signing in at
``/login`` with it. Tokens and sessions are compared in constant time; sessions are random, held in memory (a
restart signs everyone out), sent as an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

import hmac
import secrets
import threading
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

__all__ = ["MIN_TOKEN_CHARS", "SESSION_COOKIE", "TOKEN_ENV", "add_token_auth"]

#: a token shorter than this is refused (128 bits of a random hex string; `secrets.token_hex(16)` gives 32)
MIN_TOKEN_CHARS = 16
SESSION_COOKIE = "fab2token_session"
TOKEN_ENV = "FAB2TOKEN_TOKEN"
_OPEN_PATHS = ("/login", "/static/style.css")  # what a browser needs to show the sign-in page
_MAX_LOGIN_BYTES = 4096  # a sign-in form: a token and nothing else


class _Sessions:
    def __init__(self) -> None:
        self._ids: list[str] = []
        self._lock = threading.Lock()

    def new(self) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._ids.append(sid)
        return sid

    def valid(self, sid: str | None) -> bool:
        if not sid:
            return False
        with self._lock:
            ids = list(self._ids)
        found = False
        for known in ids:  # every one compared, in constant time each
            found |= hmac.compare_digest(known.encode(), sid.encode())
        return found


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    return value[7:].strip() if value[:7].lower() == "bearer " else None


def add_token_auth(app: FastAPI, token: str, page: Any) -> None:
    """Require ``token`` on every route of ``app`` but the sign-in page; ``page`` renders a template."""
    sessions = _Sessions()
    expected = token.encode()

    def good(candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(candidate.encode(), expected)

    @app.middleware("http")
    async def require_token(request: Request, call_next: Any) -> Response:
        if (
            request.url.path in _OPEN_PATHS
            or good(_bearer(request))
            or sessions.valid(request.cookies.get(SESSION_COOKIE))
        ):
            return await call_next(request)
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/login", status_code=303)
        return page("error.html.j2", 401, title="Sign in", message="this dashboard needs its access token", status=401)

    @app.get("/login", response_class=HTMLResponse)
    def login_form() -> HTMLResponse:
        return page("login.html.j2", 200, failed=False)

    @app.post("/login")
    async def login(request: Request) -> Response:
        body = await request.body()
        if len(body) > _MAX_LOGIN_BYTES:
            return page("login.html.j2", 413, failed=True)
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        if not good(form.get("token", [""])[0]):
            return page("login.html.j2", 401, failed=True)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, sessions.new(), httponly=True, samesite="strict")
        return response
