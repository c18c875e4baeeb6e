"""``serve --judge``: the reference server's clients judged as they use it.

Every frame a client sends is judged against the request tables, as ``audit`` judges a
trace's client side (:mod:`conformance.audit`); ``results.json`` is rewritten after every
request (so a crash loses nothing) and the four reports are written when the server stops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from pathlib import Path
from typing import Any

from . import trace
from .audit import Auditor
from .profile import default_profile
from .report import write_reports
from .report.json_report import render
from .results import RunResult
from .spec import Spec, load_spec

log = logging.getLogger("conformance.judging")


class LiveJudge:
    """An observer for the reference server's transport: ``judge(connection, frame)``."""

    def __init__(self, report_dir: Path, *, target: str = "the reference server's clients",
                 spec: Spec | None = None) -> None:
        self.report_dir = Path(report_dir)
        self.report_dir.mkdir(parents=True, exist_ok=True)
        self.spec = spec or load_spec()
        self.target = target
        self.auditor = Auditor(self.spec, default_profile("ws://127.0.0.1/"), server=False, label="request")
        self.requests = 0
        self._started = time.perf_counter()
        self._t0: float | None = None
        self._connections: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._opened = 0

    def __call__(self, connection: Any, frame: str | bytes) -> None:
        """Judge one frame a client sent, then rewrite ``results.json``. Never raises: a
        failure of ours is logged, and the client is still served."""
        try:
            now = asyncio.get_running_loop().time()
            self._t0 = now if self._t0 is None else self._t0
            self.requests += 1
            conn = self._connections.get(connection)
            if conn is None:
                self._opened += 1
                conn = self._connections[connection] = self._opened
            self.auditor.feed(trace.Frame(self.requests, now - self._t0, str(conn), trace.CLIENT, frame))
            self._write_json()
        except Exception:  # the judge is a bystander: serving goes on whatever befalls it (logged)
            log.exception("could not judge request %d", self.requests)

    def run(self) -> RunResult:
        return self.auditor.run_result(self.auditor.results(), target=self.target, started=self._started)

    def _write_json(self) -> None:
        path = self.report_dir / "results.json"
        partial = path.with_name(path.name + ".partial")
        partial.write_text(render(self.run()), encoding="utf-8", newline="\n")
        os.replace(partial, path)  # atomic: a reader never sees half a file

    def finish(self) -> tuple[RunResult, dict[str, Path]]:
        """Write the four reports (the server has stopped); return the run they show, so the
        summary printed beside them is the same run, and the files written."""
        run = self.run()
        return run, write_reports(run, self.report_dir, spec=self.spec)
