from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def small_path() -> Path:
    return EXAMPLES / "small.yaml"


@pytest.fixture
def small_dict(small_path: Path) -> dict:
    return yaml.safe_load(small_path.read_text())


@pytest.fixture
def write_yaml(tmp_path: Path):
    """Write a dict (or raw text) as a scenario file and return its path."""

    def write(data, name: str = "scenario.yaml") -> Path:
        p = tmp_path / name
        p.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
        return p

    return write


@pytest.fixture(autouse=True)
def _work_in_a_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own folder, so the commands' default outputs (fab2token.duckdb, report-RUNID.html)
    never land in the checkout; tests name the bundled files by absolute paths (EXAMPLES, SHARED)."""
    monkeypatch.chdir(tmp_path)
