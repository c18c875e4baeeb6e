"""Correct variants: implementations the docs allow, which the suite must never FAIL.

Most are derived from the discrepancy registry: for each response-side effect (another
envelope value, another spelling, a single object for a JSON Array) and each form it
allows, the tables dialect with that one alternative applied. The rest are the two
reference dialects and the choices the docs leave open (the shape of error replies,
frames nobody asked for, a version that no longer offers an API).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator

from ..server.bindings import load_bindings
from ..server.dialects import Dialect, Style
from ..server.wire import MESSAGE, SUBTOPIC
from ..spec import Effect, Spec, load_spec
from .edits import const, convert, drop
from .faults import Fault, closing, replies, rewrite
from .targets import Variant

_REWORDING = ("value", "name", "shape")
"""Effect kinds that change how a response is written (not what it means)."""
_ENVELOPE, _MESSAGE = "response.envelope.", f"response.{MESSAGE}."


def _style(spec: Spec, api_name: str, effect: Effect, form: Any) -> Style:
    """The API's table style, with the effect's alternative ``form`` applied if it names the API."""
    api = spec.api(api_name)
    envelope = {k: v for k, v in api.response_envelope.items() if k != MESSAGE}
    renames: dict[tuple[str, ...], dict[str, str]] = {}
    collapse: set[tuple[str, ...]] = set()
    if api_name in effect.apis:
        if effect.path.startswith(_ENVELOPE):
            envelope[effect.path.removeprefix(_ENVELOPE)] = form
        else:
            parts = tuple(effect.path.removeprefix(_MESSAGE).split("."))
            if effect.kind == "name":
                renames[parts[:-1]] = {parts[-1]: form}
            else:
                collapse.add(parts)
    return Style(envelope, renames, frozenset(collapse))


def _registry_variants(spec: Spec) -> Iterator[Variant]:
    bindings = load_bindings(spec)
    for entry in spec.discrepancies.values():
        for effect in entry.effects:
            if effect.kind not in _REWORDING or not effect.path.startswith("response."):
                continue
            for form in effect.also or ("single object",):
                member = effect.path.rsplit(".", 1)[1]
                where = "every API" if set(effect.apis) == set(spec.apis) else ", ".join(effect.apis)
                name = f"registry.{entry.id}.{member}={form}".replace(" ", "-")
                dialect = Dialect(name, {a: _style(spec, a, effect, form) for a in spec.apis}, bindings)
                yield Variant(
                    name=name, dialect="tables", basis=f"{entry.id}: {entry.title}",
                    description=f"the tables' answers, but {member} as {form} ({where})",
                    fault=Fault(service=(lambda svc, d=dialect: replace(svc, render=d.render),)),
                )


def _open_variants(spec: Spec) -> Iterator[Variant]:
    error_type = next(e.type for api in spec.apis.values() for e in api.errors)
    notice = {"channel": "LCM", "topic": "WebService", "subtopic": "AgentStateChanged", MESSAGE: {}}
    withdrawn = 1 + max(a.max_cm_version for a in spec.apis.values() if a.max_cm_version is not None)
    yield Variant(name="reference.samples", dialect="samples", fast=True,
                  basis="the samples (NON-STRICT where they depart from the tables)",
                  description="the reference server answering as the doc samples do")
    yield Variant(name="reference.tables", dialect="tables", fast=True, basis="the tables",
                  description="the reference server answering as the tables say")
    yield Variant(name="open.errors-on-error-type", fast=True,
                  basis="the docs do not give the shape of an error reply",
                  description=f"error replies go out under the subtopic {error_type!r}",
                  fault=rewrite(convert("", SUBTOPIC, const(error_type)), failures=True))
    yield Variant(name="open.errors-without-result",
                  basis="the docs do not give the shape of an error reply",
                  description="error replies carry only the error member, no result object",
                  fault=rewrite(drop(MESSAGE, "response"), failures=True))
    yield Variant(name="open.closes-after-non-request", fast=True,
                  basis="the docs say nothing of frames that are not requests",
                  description="a frame that is no request is answered, then the connection closed",
                  fault=closing(lambda d: d.exchange.api is None, answer_first=True, code=1003))
    yield Variant(name="open.notifications",
                  basis="frames that answer no request are recorded, not judged (DESIGN, wire binding)",
                  description="a notification on an undocumented subtopic follows every reply",
                  fault=replies(lambda outcome, out: [*out, notice]))
    yield Variant(name="open.duplicate-answers", fast=True,
                  basis="the pages show one reply per request and forbid no second copy; a copy is "
                        "recorded with the next request, never taken as its answer",
                  description="every reply is sent twice",
                  fault=replies(lambda outcome, out: out * 2))
    yield Variant(name="version.withdrawn-declared", cm_version=withdrawn,
                  profile={"campaign_manager_version": withdrawn},
                  basis="Skip Non-PEWC Contact: Note (compatible up to Campaign Manager 2308)",
                  description=f"a Campaign Manager {withdrawn} without SkipNonPEWCContact, as its profile says")
    yield Variant(name="version.withdrawn-undeclared", cm_version=withdrawn, fast=True,
                  profile={"campaign_manager_version": None},
                  basis="Skip Non-PEWC Contact: Note (compatible up to Campaign Manager 2308)",
                  description=f"a Campaign Manager {withdrawn} without SkipNonPEWCContact; its profile says no version")


def build_variants(spec: Spec | None = None) -> tuple[Variant, ...]:
    """Every correct variant: the open choices and reference dialects, then the registry's."""
    spec = spec or load_spec()
    return (*_open_variants(spec), *_registry_variants(spec))


VARIANTS = build_variants()
