"""Which cases may run at once, and in what order the rest must run.

A run on several connections must give every case the verdict a run on one connection
gives. Cases see one another only through the target's state, so each request's
*footprint* is read from the request itself (docs/judging.md, "Running cases at once"):

* a request of an API that works on contacts (Get Reserved Manual Dial Contact reserves
  them; Skip Manual Dial Contact and Skip Non-PEWC Contact skip them: each page's
  Overview) touches the campaign's contacts, ``contacts``: every agent's holdings and the
  open pool they are reserved from;
* a request naming a call (Set Telephony Outcome's ``callid`` row) touches that call,
  ``call:<id>``;
* a request of a version-gated API, when the profile names no Campaign Manager version,
  touches ``offered:<API>``: one valid request may find the API withdrawn, which every
  request after it must see;
* a request the tables forbid outright (a mandatory row missing) takes nothing: a target
  must not serve it, and the case that sends it FAILs one that does.

Units (cases, then property runs, in plan order) whose footprints share a key take it in
plan order: a case or a stateful test alone (its checks relate one answer to another),
property runs together (each judges every request on its own, whatever state it meets)
but never with a case or a stateful test. A case takes a key at the first step that
touches it and lets it go after the last one, so its other steps overlap.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .cases import Case, Step, fill
from .consumption import RESERVES, SKIPS
from .engine import build_frame, run_variables
from .hypo.frames import expectation, follow_up
from .hypo.record import PropertyRun
from .messages import build_request, member
from .profile import _AGENT_SAMPLES, _FIXTURE_SAMPLES, Profile
from .spec import Spec

Keys = frozenset[str]
CONTACTS = "contacts"
CONTACT_APIS = (RESERVES, *SKIPS)
CALL_ROW = _FIXTURE_SAMPLES["call_id"]
"""(API, row) of the request row that names a call."""
_T = TypeVar("_T")


# ------------------------------------------------------------------ footprints (pure)


def message_keys(spec: Spec, profile: Profile, message: Any) -> Keys:
    """The state keys one request touches (see the module docstring)."""
    if not isinstance(message, dict) or not isinstance(message.get("subtopic"), str):
        return frozenset()
    api = spec.apis.get(message["subtopic"])
    if api is None:
        return frozenset()
    keys = set()
    if api.max_cm_version is not None and profile.campaign_manager_version is None:
        keys.add(f"offered:{api.name}")
    if expectation(api, message).kind == "invalid":  # a mandatory row missing: never served
        return frozenset(keys)
    if api.name in CONTACT_APIS:
        keys.add(CONTACTS)
    if api.name == CALL_ROW[0]:
        keys.add(f"call:{_key_value(member(message.get('data'), CALL_ROW[1]))}")
    return frozenset(keys)


def _key_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def step_keys(spec: Spec, profile: Profile, step: Step, variables: dict[str, Any]) -> Keys:
    """The keys a case step touches. A value only an earlier reply gives (a contact's
    account) is left to the sample's: it names no key."""
    if step.send is not None:
        filled = dataclasses.replace(step, send=_known(step.send, variables))
    elif step.frame is not None:
        filled = dataclasses.replace(step, frame=_known(step.frame, variables))
    else:
        filled = dataclasses.replace(step, raw=_known(step.raw, variables))
    if filled.raw is _UNKNOWN or filled.frame is _UNKNOWN:
        return frozenset()
    text, _, message = build_frame(spec, filled)
    if message is None:
        try:
            message = json.loads(text)
        except ValueError:
            return frozenset()
    return message_keys(spec, profile, message)


_UNKNOWN: Any = object()


def _known(value: Any, variables: dict[str, Any]) -> Any:
    """``value`` with its ``${…}`` filled where the variables know them; members and items
    they do not know are left out (:data:`_UNKNOWN` when the whole value is unknown)."""
    try:
        return fill(value, variables)
    except KeyError:
        if isinstance(value, dict):
            known = {k: _known(v, variables) for k, v in value.items()}
            return {k: v for k, v in known.items() if v is not _UNKNOWN}
        if isinstance(value, list):
            return [v for v in (_known(v, variables) for v in value) if v is not _UNKNOWN]
        return _UNKNOWN


def case_keys(spec: Spec, profile: Profile, case: Case) -> tuple[Keys, ...]:
    """The keys each step of a case touches, step by step."""
    variables = {**run_variables(profile), "row": case.row}
    return tuple(step_keys(spec, profile, step, variables) for step in case.steps)


def run_keys(spec: Spec, profile: Profile, run: PropertyRun) -> Keys:
    """The keys a property run touches: its API's requests with the profile's fixtures (and
    the valid request that follows a bad one), or those of every API a stateful test drives."""
    keys: set[str] = set()
    for name in run.drives or (run.api,):
        api = spec.api(name)
        keys |= message_keys(spec, profile, build_request(spec, name, "tables", _fixtures(profile, name)))
        if not run.drives:
            keys |= message_keys(spec, profile, follow_up(spec, profile, api).frame)
    return frozenset(keys)


def _fixtures(profile: Profile, api: str) -> dict[str, Any]:
    """The profile's values for the rows of an API that name what the target must know."""
    values = {row: getattr(profile.fixtures, name) for name, (a, row) in _FIXTURE_SAMPLES.items() if a == api}
    values.update({row: profile.agent for a, row in _AGENT_SAMPLES if a == api})
    return values


# ------------------------------------------------------------------ plan-order gates


@dataclass
class _Claim:
    unit: int
    shared: bool
    released: bool = False
    granted: asyncio.Event = field(default_factory=asyncio.Event)


class Gate:
    """For each key, the units that touch it, in plan order. A claim is granted once every
    earlier claim that excludes it is released: all earlier ones for a claim alone, the
    earlier claims alone for a shared one. Waits only ever go to earlier units, so a run
    admitted in plan order cannot deadlock."""

    def __init__(self) -> None:
        self._claims: dict[str, list[_Claim]] = {}

    def claim(self, unit: int, keys: Iterable[str], *, shared: bool) -> None:
        """Register a unit's keys; units must claim in plan order."""
        for key in keys:
            self._claims.setdefault(key, []).append(_Claim(unit, shared))
            self._grant(key)

    async def enter(self, unit: int, key: str) -> None:
        await self._find(unit, key).granted.wait()

    def leave(self, unit: int, key: str) -> None:
        claim = self._find(unit, key)
        if not claim.released:
            claim.released = True
            self._grant(key)

    def _find(self, unit: int, key: str) -> _Claim:
        return next(c for c in self._claims[key] if c.unit == unit)

    def _grant(self, key: str) -> None:
        earlier_open = earlier_alone = False
        for claim in self._claims[key]:
            if claim.released:
                continue
            if not earlier_alone and (claim.shared or not earlier_open):
                claim.granted.set()
            earlier_open = True
            earlier_alone = earlier_alone or not claim.shared
            if earlier_alone:
                return


class Turn:
    """One case's way through the gate: before each step it takes the keys that step
    touches and lets go of those no later step touches."""

    def __init__(self, gate: Gate, unit: int, steps: Sequence[Keys]) -> None:
        self.gate, self.unit, self.steps = gate, unit, steps
        self._held: set[str] = set()

    async def before(self, step: int) -> None:
        later = set().union(*self.steps[step - 1:])
        for key in sorted(self._held - later):
            self.gate.leave(self.unit, key)
            self._held.discard(key)
        for key in sorted(self.steps[step - 1] - self._held):
            await self.gate.enter(self.unit, key)
            self._held.add(key)

    def done(self) -> None:
        """Let go of every key, those of steps never reached too."""
        for key in set().union(*self.steps):
            self.gate.leave(self.unit, key)
        self._held.clear()


@dataclass(frozen=True)
class Unit:
    """One thing to run: the keys of its steps, and whether it may share them."""

    steps: tuple[Keys, ...]
    shared: bool = False


async def run_in_order(count: int, unit: Callable[[int], Unit], work: Callable[[int, Turn], Awaitable[_T]], *,
                       jobs: int, done: Callable[[int, _T], None] | None = None) -> list[_T]:
    """Run ``work(index, turn)`` for ``count`` units, at most ``jobs`` at once, admitted in
    plan order (``unit(index)`` is asked for each one's keys as it is admitted); the results
    in plan order whatever finishes first. ``done`` is told of each as it finishes. An
    exception in one stops the others and is raised."""
    gate = Gate()
    slots = asyncio.Semaphore(max(1, jobs))
    results: dict[int, _T] = {}

    async def one(index: int, steps: tuple[Keys, ...]) -> None:
        turn = Turn(gate, index, steps)
        try:
            results[index] = await work(index, turn)
        finally:
            turn.done()
            slots.release()
        if done is not None:
            done(index, results[index])

    async with asyncio.TaskGroup() as group:
        for index in range(count):
            await slots.acquire()
            admitted = unit(index)
            gate.claim(index, set().union(*admitted.steps), shared=admitted.shared)
            group.create_task(one(index, admitted.steps))
    return [results[i] for i in range(count)]
