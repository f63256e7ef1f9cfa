"""``fab2token serve``: the dashboard in a browser, over a results store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fab2token.cli.common import DbOpt, app, handles_errors, out
from fab2token.cli.runs import DEFAULT_DB


@app.command()
@handles_errors
def serve(
    db: DbOpt = Path(DEFAULT_DB),
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (other than loopback: only with --token).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", help="Access token every request must carry (needed off loopback).", envvar="FAB2TOKEN_TOKEN"
        ),
    ] = None,
) -> None:
    """Serve the dashboard: stored runs and plans, their charts, downloads and comparisons (Ctrl+C stops it)."""
    from fab2token.web.app import check_serve
    from fab2token.web.app import serve as _serve

    check_serve(host, port, token)
    shown_host = f"[{host}]" if ":" in host else host
    out.print(f"dashboard over {db} at http://{shown_host}:{port} (Ctrl+C stops it)", highlight=False)
    if token is not None:
        out.print("every request needs the access token: sign in at /login, or send Authorization: Bearer TOKEN")
    _serve(db, host, port, token)
