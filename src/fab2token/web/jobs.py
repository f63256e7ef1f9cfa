"""Background jobs of the dashboard: ``run``, ``plan`` or ``sweep`` of a scenario from the editor, each the CLI
command itself in a process of its own (``python -m fab2token KIND FILE --db DB --json``), so a job does
exactly what the command does, stores into the same store (waiting for its lock as the CLI does) and can be
cancelled by stopping its process.

At most :data:`MAX_RUNNING` jobs run at once; the rest queue in order. A job's scenario text is written to a
temporary folder of its own, beside the files uploaded with it (removed when the job ends). Its progress is the
command's own stderr lines (a sweep prints one per stored chunk); its result is the id in the command's JSON.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fab2token.web.uploads import Uploads

__all__ = ["Job", "JobQueue", "KINDS", "MAX_RUNNING"]

KINDS = ("run", "plan", "sweep")
MAX_RUNNING = 2  # a job uses one core; two leave the machine usable on the 2-core boxes this runs on
MAX_JOBS_KEPT = 200  # finished jobs listed (the oldest finished ones are forgotten first; their results stay stored)
_TAIL_CHARS = 4000  # the end of a job's stderr kept for its page
_ID_KEYS = {"run": "run_id", "plan": "plan_id", "sweep": "sweep_id"}
_SCENARIO = ".scenario.yaml"  # a leading dot: no uploaded file's name (uploads.NAME)
_EXTRA_ARGS = {"run": ["--no-report"], "plan": [], "sweep": ["--draws", "200"]}


@dataclass
class Job:
    """One background job: what it runs, where it stands, what it produced."""

    id: str
    kind: str
    scenario: str
    created: float
    status: str = "queued"  # queued, running, done, failed, cancelled
    result_id: str | None = None
    message: str = ""
    progress: str = ""
    finished: float | None = None
    folder: Path | None = None
    proc: subprocess.Popen[str] | None = field(default=None, repr=False)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "scenario": self.scenario,
            "status": self.status,
            "result_id": self.result_id,
            "message": self.message,
            "progress": self.progress,
            "created": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.created)),
        }


class JobQueue:
    """The jobs of one dashboard over one store."""

    def __init__(self, db: Path, max_running: int = MAX_RUNNING):
        self.db = db
        self.max_running = max_running
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def submit(self, kind: str, text: str, name: str, files: dict[str, bytes] | None = None) -> Job:
        """Queue ``kind`` on the scenario ``text`` (already validated by the caller) with the ``files`` (name:
        content, names checked by the caller) its fields name, beside it in the job's folder."""
        with self._lock:
            job = Job(f"j{next(self._ids)}", kind, name, time.time())
            job.folder = Path(tempfile.mkdtemp(prefix=f"fab2token-{job.id}-"))
            Uploads.materialise(files or {}, job.folder)
            (job.folder / _SCENARIO).write_text(text, encoding="utf-8")
            self.jobs[job.id] = job
            self._forget_old()
        self._start_next()
        return job

    def cancel(self, job_id: str) -> Job | None:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None or job.status not in ("queued", "running"):
                return job
            if job.proc is not None:
                job.proc.terminate()
            job.status, job.message, job.finished = "cancelled", "cancelled from the dashboard", time.time()
        self._start_next()
        return job

    def listed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [j.view() for j in sorted(self.jobs.values(), key=lambda j: -j.created)]

    def _forget_old(self) -> None:
        done = [j for j in self.jobs.values() if j.finished is not None]
        for j in sorted(done, key=lambda j: j.created)[: max(0, len(self.jobs) - MAX_JOBS_KEPT)]:
            del self.jobs[j.id]

    def _start_next(self) -> None:
        with self._lock:
            running = sum(j.status == "running" for j in self.jobs.values())
            queued = sorted((j for j in self.jobs.values() if j.status == "queued"), key=lambda j: j.created)
            for job in queued[: max(0, self.max_running - running)]:
                assert job.folder is not None
                cmd = [
                    sys.executable,
                    "-m",
                    "fab2token",
                    job.kind,
                    str(job.folder / _SCENARIO),
                    "--db",
                    str(self.db),
                    *_EXTRA_ARGS[job.kind],
                    "--json",
                ]
                job.proc = subprocess.Popen(
                    cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=job.folder
                )
                job.status = "running"
                threading.Thread(target=self._watch, args=(job,), daemon=True).start()

    def _watch(self, job: Job) -> None:
        """Follow a job's process: its progress lines, then its result or its error."""
        proc = job.proc
        assert proc is not None and proc.stderr is not None and proc.stdout is not None
        err = ""
        for line in proc.stderr:
            err = (err + line)[-_TAIL_CHARS:]
            job.progress = line.strip()
        out = proc.stdout.read()
        code = proc.wait()
        with self._lock:
            if job.status == "running":
                if code == 0:
                    try:
                        job.result_id = json.loads(out).get(_ID_KEYS[job.kind])
                        job.status, job.message = "done", ""
                    except ValueError:
                        job.status, job.message = "failed", "the command's output was not JSON"
                else:
                    job.status, job.message = "failed", err.strip() or f"exit status {code}"
                job.finished = time.time()
            if job.folder is not None:
                shutil.rmtree(job.folder, ignore_errors=True)
        self._start_next()
