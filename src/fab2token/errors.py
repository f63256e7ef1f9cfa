"""One small exception tree; every message is built before raising."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Fab2TokenError", "InputIssue", "ScenarioError", "CatalogError", "ModelError"]


class Fab2TokenError(Exception):
    """Base class of every error fab2token raises on purpose."""


@dataclass(frozen=True)
class InputIssue:
    """One problem in an input file: where it is, what was found, what was expected."""

    file: str
    path: str
    value: object
    expected: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: got {self.value!r}; {self.expected}"


class ScenarioError(Fab2TokenError):
    """A scenario file that cannot be used; carries every issue found, not only the first."""

    def __init__(self, issues: list[InputIssue]):
        self.issues = list(issues)
        n = len(self.issues)
        head = f"{n} problem{'s' if n != 1 else ''} in the input:"
        super().__init__("\n".join([head, *(f"  - {i}" for i in self.issues)]))


class CatalogError(Fab2TokenError):
    """A catalog table or a catalog lookup that cannot be satisfied."""


class ModelError(Fab2TokenError):
    """A physically impossible request to a model (e.g. a die larger than the reticle)."""
