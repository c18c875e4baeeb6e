"""The Hypothesis settings profiles: how many examples, messages, seconds and how fast.

Property tests may face a vendor's endpoint, so every profile bounds what a run sends:
examples per property, steps per stateful example, extra messages for shrinking a
failure, seconds per property and a message rate. ``quick`` (the default) sends about 200
messages in all; ``ci`` sends twice as many and is always derandomized; ``thorough``
searches ten times as far. Each is also registered with Hypothesis as ``lcm-<name>``.

Reproducible unless asked otherwise: with no example database (the default, so nothing
is written unasked) every profile draws the same examples run after run (a fixed seed
per property), so a target gets the same verdicts and an expectations file gates
reliably. Given a database directory, ``quick`` and ``thorough`` search afresh each run
and first replay the failures the directory keeps; ``ci`` stays derandomized.

Nothing is written into the working directory unasked, Hypothesis' own caches included:
it would keep them (tables of Unicode characters, constants read from local source files)
in ``./.hypothesis``; a run of ours keeps them in the user's cache directory instead
(:func:`keep_caches_out_of_cwd`), where they save the next run seconds.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypedDict, Unpack

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

KINDS = ("valid-requests", "invalid-requests", "echo", "robustness")
"""The properties run per API (the stateful test is a run of its own)."""


@dataclass(frozen=True)
class Plan:
    """What one profile lets a whole property run send."""

    name: str
    examples: Mapping[str, int]
    """Hypothesis examples per property kind and API."""
    stateful_examples: int
    stateful_steps: int
    shrink_messages: int
    """Messages each property may spend shrinking a failure, beyond its examples."""
    seconds_per_run: float
    """Time each property may take; then it stops generating (its examples so far count)."""
    rate: float
    """Messages per second at most, after a burst of ``burst``."""
    burst: int
    derandomize: bool
    """Derandomized even when given an example database (which it then does not use)."""


QUICK = Plan(
    "quick", {"valid-requests": 5, "invalid-requests": 5, "echo": 5, "robustness": 4},
    stateful_examples=3, stateful_steps=12, shrink_messages=10, seconds_per_run=60.0,
    rate=200.0, burst=50, derandomize=False,
)
PLANS: Mapping[str, Plan] = {
    "quick": QUICK,
    "ci": replace(QUICK, name="ci", examples={k: 2 * n for k, n in QUICK.examples.items()},
                  stateful_examples=5, shrink_messages=20, derandomize=True),
    "thorough": replace(QUICK, name="thorough", examples={k: 10 * n for k, n in QUICK.examples.items()},
                        stateful_examples=30, stateful_steps=20, shrink_messages=200, seconds_per_run=600.0),
}
PROFILES = (*PLANS, "off")
"""The values of ``--hypothesis-profile``; ``off`` runs no property test."""

_BASE: dict[str, Any] = dict(
    deadline=None,  # the target's latency is not the test's
    verbosity=Verbosity.quiet,  # the failing example is reported as a case file instead
    report_multiple_bugs=False,
    print_blob=False,
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),  # no explain phase: it sends more
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                           HealthCheck.large_base_example),
)
for _plan in PLANS.values():
    settings.register_profile(f"lcm-{_plan.name}", settings(derandomize=_plan.derandomize, **_BASE))


def plan(name: str) -> Plan:
    """The plan of a profile name, for property runs about to start (so Hypothesis' caches
    are kept out of the working directory from here on); raises ValueError naming the choices."""
    keep_caches_out_of_cwd()
    try:
        return PLANS[name]
    except KeyError:
        raise ValueError(f"unknown Hypothesis profile {name!r}; one of {', '.join(PROFILES)}") from None


class _Sizes(TypedDict, total=False):
    """The per-run sizes :func:`hypothesis_settings` may override."""

    max_examples: int
    stateful_step_count: int


def cache_dir() -> Path:
    """Where Hypothesis keeps its caches for us: ``$XDG_CACHE_HOME`` (else ``~/.cache``)
    ``/lcm-conformance/hypothesis``; the system's temporary directory for a user without a home."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, or relative (which the XDG spec says to ignore)
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            base = tempfile.gettempdir()
    return Path(base) / "lcm-conformance" / "hypothesis"


def keep_caches_out_of_cwd() -> None:
    """Point Hypothesis' storage (``./.hypothesis`` by default) at :func:`cache_dir`, unless
    ``HYPOTHESIS_STORAGE_DIRECTORY`` says where it goes.

    Called when property runs are about to start (:func:`plan`, :func:`hypothesis_settings`),
    never on import: the pytest plugin is loaded into every pytest session of the
    environment, and another project's Hypothesis tests keep their storage until runs of
    ours start in the same process."""
    if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        set_hypothesis_home_dir(cache_dir())


def hypothesis_settings(plan: Plan, database: Path | None, **overrides: Unpack[_Sizes]) -> settings:
    """The settings of one run: the profile's, per-run sizes such as max_examples, and
    either an example database (a directory given, and the plan not derandomized) or,
    without one, derandomized: the same examples every run. Hypothesis' caches are kept
    out of the working directory from here on (:func:`keep_caches_out_of_cwd`)."""
    keep_caches_out_of_cwd()
    derandomize = plan.derandomize or database is None
    db = None if derandomize else DirectoryBasedExampleDatabase(str(database))
    return settings(settings.get_profile(f"lcm-{plan.name}"), database=db, derandomize=derandomize, **overrides)
