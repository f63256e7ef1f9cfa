"""Output files (reports, planned scenarios): checked before any work is done, written whole or not at all.

:func:`check_output` refuses, before anything runs, an output that could not be written (its folder is missing or
not writable, the path is a folder or a device) or that would overwrite an input (the scenario, the results store,
a weather file the scenario names). :func:`write_outputs` writes each output to a temporary file in the same
folder and moves them into place only when all were written, so a failure leaves no half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from fab2token.errors import OutputError, clip

__all__ = ["check_output", "check_outputs", "scenario_inputs", "write_outputs", "Output"]

# (path, option, writer): the writer writes the whole file to the path it is given
Output = tuple[Path, str, Callable[[Path], Any]]


def _resolved(p: str | Path) -> Path:
    try:
        return Path(p).expanduser().resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare as given
        return Path(os.path.abspath(p))


def _probe_writable(folder: Path, option: str, path: Path) -> None:
    """Create and remove a temporary file in ``folder``: the only test that also holds for root and for ACLs."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".fab2token-probe-")
    except OSError as exc:
        raise OutputError(
            f"{option} {clip(path)}: cannot write in the folder {clip(folder)} ({exc.strerror or exc})"
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)


def check_output(path: str | Path, option: str, inputs: Iterable[str | Path | None] = ()) -> Path:
    """Refuse, before any work, an output path that cannot be written or that names one of ``inputs``.

    Parameters
    ----------
    path
        The output file the user named.
    option
        The option that named it (``--report``), for the message.
    inputs
        Files the command reads (the scenario, the store, files the scenario names); ``None`` entries are skipped.
        Compared after resolving symlinks and ``..``. A folder among them protects the files inside it.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    OutputError
        Naming the option, the path and why.
    """
    p = Path(path)
    if str(p) in ("", "."):
        raise OutputError(f"{option}: got an empty path; a file name, e.g. {option} report.html")
    target = _resolved(p)
    for given in inputs:
        if given is None or str(given) == "":
            continue
        src = _resolved(given)
        if target == src:
            raise OutputError(
                f"{option} {clip(p)}: this is an input of the command ({clip(given)}); choose another file"
            )
        if src.is_dir() and src in target.parents and target.exists():
            raise OutputError(
                f"{option} {clip(p)}: would overwrite a file in the input folder {clip(given)}; choose another file"
            )
    if target.exists() or p.is_symlink():
        if target.is_dir():
            raise OutputError(f"{option} {clip(p)}: is a folder; give a file name inside it")
        if not target.is_file():
            raise OutputError(f"{option} {clip(p)}: exists and is not an ordinary file (a device or a pipe)")
    folder = target.parent
    if not folder.exists():
        raise OutputError(f"{option} {clip(p)}: the folder {clip(folder)} does not exist")
    if not folder.is_dir():
        raise OutputError(f"{option} {clip(p)}: {clip(folder)} is not a folder")
    _probe_writable(folder, option, p)
    return p


def check_outputs(outputs: Sequence[tuple[str | Path | None, str]], inputs: Iterable[str | Path | None] = ()) -> None:
    """:func:`check_output` for each ``(path, option)`` given (``None`` paths skipped); two outputs may not coincide."""
    inputs = list(inputs)
    seen: dict[Path, str] = {}
    for path, option in outputs:
        if path is None:
            continue
        check_output(path, option, inputs)
        key = _resolved(path)
        if key in seen:
            raise OutputError(f"{option} {clip(path)}: is also given as {seen[key]}; give two different files")
        seen[key] = option


def scenario_inputs(sc: Any) -> list[str]:
    """Files a loaded scenario read besides itself: weather files and fab line results (the supply chain's and
    each own-design fleet type's), as resolved against the scenario's folder when it was loaded."""
    files: list[str] = []
    for site in getattr(sc, "sites", ()):
        w = site.weather_csv_path() if hasattr(site, "weather_csv_path") else None
        if w:
            files.append(str(w))
    supplies = [getattr(sc, "supply", None)]
    supplies += [getattr(t, "supply", None) for t in (getattr(sc, "fleet", None) or ())]
    for sup in supplies:
        fab = getattr(sup, "fab", None)
        if fab is not None and getattr(fab, "fabline_result", None):
            path = fab.fabline_result_path() if hasattr(fab, "fabline_result_path") else fab.fabline_result
            files.append(str(path))
    return files


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove(*paths: Path) -> None:
    for q in paths:
        with contextlib.suppress(OSError):
            q.unlink()


def write_outputs(outputs: Sequence[Output]) -> list[Path]:
    """Write every output to a temporary file beside it, then move them all into place.

    Nothing is moved until every output was written, so a write that fails half-way (a full disk, a folder made
    read-only meanwhile) leaves the old files as they were and :class:`OutputError` names the one that failed.
    """
    staged: list[tuple[Path, Path, str]] = []
    try:
        for path, option, writer in outputs:
            p = Path(path)
            try:
                fd, name = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name[:100]}.", suffix=".part")
                os.close(fd)
                tmp = Path(name)
                staged.append((p, tmp, option))
                writer(tmp)
                os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report gets the user's usual mode
            except OSError as exc:
                raise OutputError(f"{option} {clip(p)}: cannot write it ({exc.strerror or exc})") from None
        for p, tmp, option in staged:
            try:
                os.replace(tmp, p)
            except OSError as exc:
                raise OutputError(f"{option} {clip(p)}: cannot move the written file into place ({exc})") from None
    except BaseException:
        for _p, tmp, _o in staged:
            _remove(tmp, tmp.with_name(tmp.name + ".tmp"))  # report writers stage through NAME.tmp themselves
        raise
    return [p for p, _t, _o in staged]
