"""Which cases may run at once, and in what order the rest must run.

A run on several connections must give every case the verdict a run on one connection
gives. Cases see one another only through the target's state, so each request's
*footprint* is read from the request itself (docs/judging.md, "Running cases at once"):
the state it touches, and whether it may change it or only reads it.

* A request of an API that works on contacts (Get Reserved Manual Dial Contact reserves
  them; Skip Manual Dial Contact and Skip Non-PEWC Contact skip them: each page's
  Overview) touches the campaign's contacts, ``contacts``: every agent's holdings and the
  open pool they are reserved from. A re-fetch (``ReservedContacts`` true: the agent's
  reserved contacts again, Data Parameters table) only reads them.
* A request naming a call (Set Telephony Outcome's ``callid`` row) changes that call,
  ``call:<id>``.
* A request of a version-gated API, when the profile names no Campaign Manager version,
  touches ``offered:<API>``: a valid request may find the API withdrawn, which every
  request after it must see (it only reads that when it is one the tables forbid).
* A request the tables forbid outright (a mandatory row missing) takes nothing: a target
  must not serve it, and the case that sends it FAILs one that does.

Units (cases, then property runs, then the stateful test: the plan order) that touch a
key take it in plan order: together while they only read it, alone when one may change
it. A case takes a key at its first step that touches it and lets it go after the last
one, so its other steps overlap. A property run may send any request of its API, so it
changes what they touch; the stateful test changes what every API touches.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import itertools
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .cases import Case, Step, fill
from .consumption import RESERVES, SKIPS
from .engine import build_frame, run_variables
from .hypo.frames import follow_up
from .hypo.record import PropertyRun
from .messages import build_request, member, truthy
from .profile import _AGENT_SAMPLES, _FIXTURE_SAMPLES, Profile
from .spec import Api, Spec

Footprint = Mapping[str, bool]
"""State key -> whether the request may change that state (else it only reads it)."""
CONTACTS = "contacts"
CONTACT_APIS = (RESERVES, *SKIPS)
CALL_ROW = _FIXTURE_SAMPLES["call_id"]
"""(API, row) of the request row that names a call."""
REFETCH_ROW = "ReservedContacts"
"""The download row that makes it a re-fetch of the agent's reserved contacts."""
_T = TypeVar("_T")


# ------------------------------------------------------------------ footprints (pure)


def message_footprint(spec: Spec, profile: Profile, message: Any, *, refused: bool = False) -> dict[str, bool]:
    """What one request touches (see the module docstring). ``refused``: a request the
    tables forbid, whose refusal never says an API is withdrawn."""
    if not isinstance(message, dict) or not isinstance(message.get("subtopic"), str):
        return {}
    api = spec.apis.get(message["subtopic"])
    if api is None:
        return {}
    touched = {}
    if api.max_cm_version is not None and profile.campaign_manager_version is None:
        touched[f"offered:{api.name}"] = not refused
    data = message.get("data")
    if _lacks_mandatory_row(api, data):  # never served
        return touched
    if api.name in CONTACT_APIS:
        touched[CONTACTS] = not (api.name == RESERVES and truthy(member(data, REFETCH_ROW)))
    if api.name == CALL_ROW[0]:
        touched[f"call:{_key_value(member(data, CALL_ROW[1]))}"] = True
    return touched


def _lacks_mandatory_row(api: Api, data: Any) -> bool:
    """Whether a Data Parameters row marked Mandatory is missing (under any spelling of case)."""
    names = {k.casefold() for k in data} if isinstance(data, dict) else set()
    return any(row.mandatory and row.name.casefold() not in names for row in api.request_data)


def _key_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def step_footprint(spec: Spec, profile: Profile, step: Step, variables: dict[str, Any]) -> dict[str, bool]:
    """What a case step touches. A value only an earlier reply gives (a contact's account)
    is left to the sample's: it names no key."""
    if step.send is not None:
        filled = dataclasses.replace(step, send=_known(step.send, variables))
    elif step.frame is not None:
        filled = dataclasses.replace(step, frame=_known(step.frame, variables))
    else:
        filled = dataclasses.replace(step, raw=_known(step.raw, variables))
    if filled.raw is _UNKNOWN or filled.frame is _UNKNOWN:
        return {}
    text, _, message = build_frame(spec, filled)
    if message is None:
        try:
            message = json.loads(text)
        except ValueError:
            return {}
    return message_footprint(spec, profile, message, refused=step.expect == "reply")


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


def case_footprint(spec: Spec, profile: Profile, case: Case) -> tuple[dict[str, bool], ...]:
    """What each step of a case touches, step by step."""
    variables = {**run_variables(profile), "row": case.row}
    return tuple(step_footprint(spec, profile, step, variables) for step in case.steps)


def run_footprint(spec: Spec, profile: Profile, run: PropertyRun) -> dict[str, bool]:
    """What a property run touches: what its API's requests touch with the profile's
    fixtures, changed (it may send any valid request, and worse), and what the valid
    request after a bad one touches; a stateful test changes what every API touches."""
    touched: dict[str, bool] = {}
    for name in run.drives or (run.api,):
        request = build_request(spec, name, "tables", _fixtures(profile, name))
        touched.update(dict.fromkeys(message_footprint(spec, profile, request), True))
        if not run.drives:
            for key, writes in message_footprint(spec, profile, follow_up(spec, profile, spec.api(name)).frame).items():
                touched[key] = touched.get(key, False) or writes
    return touched


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
    earlier claim that excludes it is released: all earlier ones for a claim that changes
    the state, the earlier changing ones for a claim that only reads it. Waits only ever
    go to earlier units."""

    def __init__(self) -> None:
        self._claims: dict[str, list[_Claim]] = {}

    def claim(self, unit: int, footprint: Footprint) -> None:
        """Register what a unit touches; units must claim in plan order."""
        for key, writes in footprint.items():
            self._claims.setdefault(key, []).append(_Claim(unit, shared=not writes))
            self._grant(key)

    async def enter(self, unit: int, key: str) -> None:
        await self._find(unit, key).granted.wait()

    def granted(self, unit: int, key: str) -> bool:
        return self._find(unit, key).granted.is_set()

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


class Slots:
    """At most ``size`` units running at once. A unit waiting for a slot again (after its
    turn came) goes before one admitted later: the earliest in plan order first."""

    def __init__(self, size: int) -> None:
        self.free = size
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._count = itertools.count()

    async def acquire(self, priority: int) -> None:
        if self.free > 0 and not self._waiting:
            self.free -= 1
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._count), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # handed a slot as it was cancelled
                self.release()
            raise

    def release(self) -> None:
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return
        self.free += 1


class Turn:
    """One unit's way through the gate: before each step it takes the keys that step
    touches and lets go of those no later step touches. While it waits for a key it gives
    up its slot (its connection stays open), so units that can run do."""

    def __init__(self, gate: Gate, slots: Slots, unit: int, steps: Sequence[Footprint]) -> None:
        self.gate, self.slots, self.unit = gate, slots, unit
        self.steps = [frozenset(step) for step in steps]
        self.running = True
        """Whether the unit holds a slot (it is admitted with one)."""
        self._held: set[str] = set()

    async def before(self, step: int) -> None:
        later: set[str] = set().union(*self.steps[step - 1:])
        for key in sorted(self._held - later):
            self.gate.leave(self.unit, key)
            self._held.discard(key)
        wanted = sorted(self.steps[step - 1] - self._held)
        if all(self.gate.granted(self.unit, key) for key in wanted):
            self._held.update(wanted)
            return
        self.slots.release()
        self.running = False
        for key in wanted:
            await self.gate.enter(self.unit, key)
            self._held.add(key)
        await self.slots.acquire(self.unit)
        self.running = True

    def done(self) -> None:
        """Let go of every key, those of steps never reached too (again: no harm)."""
        for key in set().union(*self.steps):
            self.gate.leave(self.unit, key)
        self._held.clear()


@dataclass(frozen=True)
class Unit:
    """One thing to run: what each of its steps touches (a property run: one step)."""

    steps: tuple[Footprint, ...]

    def footprint(self) -> dict[str, bool]:
        """What the whole unit touches: a key it changes in any step, it changes."""
        whole: dict[str, bool] = {}
        for step in self.steps:
            for key, writes in step.items():
                whole[key] = whole.get(key, False) or writes
        return whole


ADMITTED = 2
"""Units admitted (running, or waiting for their turn with a connection open) per slot."""


async def run_in_order(count: int, unit: Callable[[int], Unit], work: Callable[[int, Turn], Awaitable[_T]], *,
                       jobs: int, done: Callable[[int, _T], None] | None = None) -> list[_T]:
    """Run ``work(index, turn)`` for ``count`` units, at most ``jobs`` at once, admitted in
    plan order (``unit(index)`` is asked for each one's keys as it is admitted); the results
    in plan order whatever finishes first. ``done`` is told of each as it finishes. An
    exception in one stops the others and is raised.

    Admitted in plan order, a unit waits only for earlier ones, which are all admitted, and
    a waiting unit holds no slot: the earliest unfinished unit can always run."""
    gate, slots = Gate(), Slots(max(1, jobs))
    admitted = asyncio.Semaphore(ADMITTED * max(1, jobs))
    results: dict[int, _T] = {}

    async def one(index: int, steps: tuple[Footprint, ...]) -> None:
        turn = Turn(gate, slots, index, steps)
        try:
            results[index] = await work(index, turn)
        finally:
            turn.done()
            if turn.running:
                slots.release()
            admitted.release()
        if done is not None:
            done(index, results[index])

    async with asyncio.TaskGroup() as group:
        for index in range(count):
            await admitted.acquire()
            await slots.acquire(index)
            planned = unit(index)
            gate.claim(index, planned.footprint())
            group.create_task(one(index, planned.steps))
    return [results[i] for i in range(count)]
