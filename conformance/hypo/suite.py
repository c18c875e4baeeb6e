"""Every property and stateful run, and running them for the runner and the plugin."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..breaker import Breaker
from ..profile import Profile
from ..properties import property_runs
from ..results import CaseResult
from ..spec import Spec
from ..stateful import STATEFUL
from .driver import SERIAL, Portal, Session
from .plan import plan
from .record import PropertyRun


def all_runs(spec: Spec) -> list[PropertyRun]:
    """The property runs, API by API, then the stateful test (which drives every API)."""
    return [*property_runs(spec), replace(STATEFUL, drives=tuple(spec.apis))]


def session(
    spec: Spec, profile: Profile, profile_name: str, loop: asyncio.AbstractEventLoop, *,
    database: Path | None = None, report_dir: Path | None = None, deadline: float = float("inf"),
    gated: bool = False, breaker: Breaker | None = None, withdrawn: dict[str, str] | None = None,
) -> Session:
    """A session on a target.

    ``gated``: verdicts are compared with an expectations file, so the runs are
    derandomized: the same target gets the same examples, and so the same verdicts.
    ``withdrawn``: the APIs found not offered so far, shared with example cases running at
    the same time. Every run of the session shares one message rate (the plan's)."""
    found = withdrawn if withdrawn is not None else {}
    chosen = plan(profile_name)
    if gated:
        chosen = replace(chosen, derandomize=True)
    return Session(spec, profile, chosen, Portal(loop), profile.url, database=database,
                   report_dir=report_dir, withdrawn=found, deadline=deadline, breaker=breaker or Breaker())


def run_one(run: PropertyRun, session: Session) -> CaseResult:
    """Run one property run on a worker thread, one of several: Hypothesis works in one
    thread at a time, the others waiting for the target meanwhile (:class:`~.driver.Serial`)."""
    with SERIAL.working():
        return run.run(session)


def run_all(session: Session, runs: list[PropertyRun], progress: Callable[[CaseResult], None] | None = None
            ) -> list[CaseResult]:
    """Run each in turn (from a thread other than the session's event loop)."""
    results = []
    for run in runs:
        results.append(run.run(session))
        if progress:
            progress(results[-1])
    return results
