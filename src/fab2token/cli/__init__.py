"""The command line (typer + rich): parse, call the Python API, print."""

from __future__ import annotations

from fab2token.cli.main import app

__all__ = ["app", "main"]


def main() -> None:
    """The ``fab2token`` command: its process set up (:mod:`.startup`), then the typer app."""
    from fab2token.cli.startup import no_dask_arrays

    no_dask_arrays()
    app(prog_name="fab2token")
