"""The command line (typer + rich): parse, call the Python API, print."""

from __future__ import annotations

from fab2token.cli.main import app

__all__ = ["app"]
