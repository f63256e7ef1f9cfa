"""Whole-process start-up: what every command pays before it starts (issue 17's goals: ``fab2token --help`` and
``validate`` on the small example under 0.25 s; ``infer`` under 0.4 s). Printed beside a bare interpreter and, where
llm-analysis is installed, its CLI on the same question, measured in alternating whole processes."""

from __future__ import annotations

import importlib.util
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import paired_processes, python

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    exe = str(Path(python()).parent / "fab2token")
    bare = [python(), "-c", "pass"]
    for label, cmd in (
        ("fab2token --help", [exe, "--help"]),
        ("fab2token validate examples/small.yaml", [exe, "validate", str(ROOT / "examples" / "small.yaml")]),
        ("fab2token infer llama-2-70b on 8 H100", [exe, "infer", "-m", "llama-2-70b", "-a", "H100", "-n", "8"]),
    ):
        p = paired_processes(bare, cmd, rounds=5)
        print(f"{label}: {statistics.median(p.b_s):.2f} s whole-process; {p.text('bare python', label)}")
    _run_with_and_without_the_dask_check(exe)
    if importlib.util.find_spec("llm_analysis") is None:
        print("llm-analysis not installed: its CLI comparison is skipped (make bench installs it)")
        return
    # llm-analysis has no console script: its CLI is `python -m llm_analysis.analysis` (python-fire); the model is
    # one of the configs it ships (a Hugging Face name would need the network), on the same H100
    ours = [exe, "infer", "-m", "llama-2-70b", "-a", "H100", "-n", "8", "--tp", "8", "--precision", "bf16"]
    theirs = [python(), "-m", "llm_analysis.analysis", "infer", "--model_name", "upstage_Llama-2-70b-instruct-v2"]
    theirs += ["--gpu_name", "h100-sxm-80gb", "--tp_size", "8"]
    p = paired_processes(theirs, ours, rounds=5)
    print(f"infer CLI, same question: {p.text('llm-analysis', 'fab2token')}")


def _run_with_and_without_the_dask_check(exe: str) -> None:
    """``fab2token run`` on the small example as the command runs it (xarray told no dask arrays come,
    :mod:`fab2token.cli.startup`) beside the same app without that (xarray imports dask.array on its first Dataset)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = ["run", str(ROOT / "examples" / "small.yaml"), "--no-report", "--db", str(Path(tmp) / "r.duckdb")]
        plain = [python(), "-c", "import sys; from fab2token.cli.main import app; app(prog_name='fab2token')", *args]
        p = paired_processes(plain, [exe, *args], rounds=5)
    print(f"fab2token run examples/small.yaml: {p.text('without the dask check', 'the command')}")
