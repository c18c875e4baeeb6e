"""The parallel mutation driver: the whole suite against each target, one process each.

Every worker process serves its own target on a free loopback port and runs every case
against it with a fresh state, a short response timeout (so a silent or late mutant
costs little) and a token profile (so a target that ignores the token can be caught).
A mutant is killed when at least one case FAILs; a variant passes when none does.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures import TimeoutError as PoolTimeout
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..cases import Case, load_cases
from ..profile import Profile, load_profile
from ..results import CaseResult, Verdict
from ..runner import run_cases
from ..server.bindings import load_bindings
from ..server.default_seed import default_seed
from ..spec import load_spec
from . import TARGETS
from .serving import running_target
from .targets import IMPLEMENTATIONS, Mutant, Target, Variant

TOKEN_VARIABLE = "LCM_MUTATION_TOKEN"
"""The environment variable the run's profile takes its bearer token from (a credential)."""
RESPONSE_TIMEOUT = 0.5


@dataclass(frozen=True)
class Settings:
    """Time bounds of one target's run (seconds)."""

    response_timeout: float = RESPONSE_TIMEOUT
    connect_timeout: float = 2.0
    run_timeout: float = 60.0

    @property
    def bound(self) -> float:
        """Longest a target's run may take, server start and stop included."""
        return self.run_timeout + 10.0


@dataclass(frozen=True)
class Run:
    """What the suite concluded about one target."""

    name: str
    failed: tuple[tuple[str, str], ...] = ()
    """(case id, why) of every FAILed case, in suite order."""
    counts: Mapping[str, int] = field(default_factory=dict)
    """Cases per verdict."""
    seconds: float = 0.0
    error: str | None = None
    """Why the run itself broke (then it neither kills nor passes)."""


def offering_version() -> int:
    """The last Campaign Manager version that still offers every documented API."""
    return min(a.max_cm_version for a in load_spec().apis.values() if a.max_cm_version is not None)


def mutation_profile(url: str, token: str, target: Target, settings: Settings) -> Profile:
    """The run's profile: a bearer token from the environment, short timeouts, a version."""
    overrides: dict[str, Any] = {
        "url": url,
        "headers": {"Authorization": f"Bearer ${{{TOKEN_VARIABLE}}}"},
        "timeouts": {"connect": settings.connect_timeout, "response": settings.response_timeout,
                     "run": settings.run_timeout},
        "campaign_manager_version": offering_version(),
        "agents": list(seed_agents()),
        **target.profile,
    }
    chosen = {k: v for k, v in overrides.items() if v is not None}
    return load_profile(None, chosen, env={TOKEN_VARIABLE: token})


@cache
def seed_agents() -> tuple[str, ...]:
    """The two agents the reference server's default seed holds: the run's profile names
    both (so the two-agent cases run) and a foreign target is told to know both."""
    spec = load_spec()
    return tuple(default_seed(spec, load_bindings(spec))["agents"][:2])


@cache
def suite_cases() -> list[Case]:
    return load_cases(load_spec())


async def _suite(target: Target, settings: Settings) -> list[CaseResult]:
    token = secrets.token_urlsafe(16)
    async with running_target(target, token=token, agents=seed_agents()) as url:
        profile = mutation_profile(url, token, target, settings)
        return await run_cases(load_spec(), profile, suite_cases())


def run_target(name: str, settings: Settings) -> Run:
    """Run the suite against one target (by name, so a worker process can be handed it)."""
    started = time.perf_counter()
    try:
        results = asyncio.run(asyncio.wait_for(_suite(TARGETS[name], settings), settings.bound))
    except Exception as exc:  # noqa: BLE001 -- the worker's boundary: a broken run is reported, not raised
        return Run(name, seconds=time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}")
    return Run(
        name,
        failed=tuple((r.id, r.detail) for r in results if r.verdict is Verdict.FAIL),
        counts=dict(Counter(r.verdict.value for r in results)),
        seconds=time.perf_counter() - started,
    )


def run_targets(targets: list[Target], *, jobs: int, settings: Settings = Settings(),
                done: Callable[[Run], None] | None = None) -> dict[str, Run]:
    """Run every target in ``jobs`` worker processes; their runs by name, in ``targets`` order."""
    runs: dict[str, Run] = {}
    bound = settings.bound * math.ceil(len(targets) / jobs) + 30.0
    context = multiprocessing.get_context("spawn")  # no state of the caller leaks into a worker
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures: dict[Future[Run], str] = {pool.submit(run_target, t.name, settings): t.name for t in targets}
        try:
            for future in as_completed(futures, timeout=bound):
                try:
                    run = future.result()
                except BrokenExecutor as exc:  # a worker died (killed, or could not start)
                    run = Run(futures[future], error=f"the worker process broke: {exc}")
                runs[run.name] = run
                if done:
                    done(run)
        except PoolTimeout:
            for future, name in futures.items():
                future.cancel()
                runs.setdefault(name, Run(name, error=f"no result within the run's bound of {bound:g} s"))
    return {t.name: runs[t.name] for t in targets}


@dataclass(frozen=True)
class Score:
    """The verdict on the suite's power: which mutants it killed, which variants it failed."""

    mutants: tuple[Mutant, ...]
    variants: tuple[Variant, ...]
    runs: Mapping[str, Run]

    @classmethod
    def of(cls, targets: list[Target], runs: Mapping[str, Run]) -> Score:
        return cls(tuple(t for t in targets if isinstance(t, Mutant)),
                   tuple(t for t in targets if isinstance(t, Variant)), runs)

    @property
    def killed(self) -> list[Mutant]:
        return [m for m in self.mutants if self.runs[m.name].failed and not self.runs[m.name].error]

    @property
    def survivors(self) -> list[Mutant]:
        return [m for m in self.mutants if not self.runs[m.name].failed and not self.runs[m.name].error]

    @property
    def false_fails(self) -> list[Variant]:
        return [v for v in self.variants if self.runs[v.name].failed]

    @property
    def broken(self) -> list[Target]:
        """Targets whose run broke, or got a case the suite could not judge (an ERROR is a
        bug of ours, whatever the target)."""
        return [t for t in (*self.mutants, *self.variants)
                if self.runs[t.name].error or self.runs[t.name].counts.get("error", 0)]

    def implementations(self) -> dict[str, Score]:
        """The score of each implementation in the run (reference, foreign), in that order."""
        found = {t.implementation for t in (*self.mutants, *self.variants)}
        return {name: Score(tuple(m for m in self.mutants if m.implementation == name),
                            tuple(v for v in self.variants if v.implementation == name), self.runs)
                for name in IMPLEMENTATIONS if name in found}

    def exit_code(self) -> int:
        """0 when every mutant is killed and no variant FAILs; 1 otherwise."""
        return 1 if self.survivors or self.false_fails or self.broken else 0
