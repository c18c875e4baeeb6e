"""Correct variants: implementations the docs allow, which the suite must never FAIL.

Most are derived from the discrepancy registry: for each response-side effect (another
envelope value, another spelling, a single object for a JSON Array) and each form it
allows, the tables dialect with that one alternative applied. The rest are the two
reference dialects and the choices the docs leave open (the shape of error replies,
frames nobody asked for, a version that no longer offers an API).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ..server.bindings import load_bindings
from ..server.dialects import Dialect, Style
from ..server.wire import MESSAGE, SUBTOPIC
from ..spec import Effect, Spec, load_spec
from . import state_faults as sf
from .catalogue import GRMDC, MDC, RESPONSE, SNPC, actual_error, e164, iso
from .edits import const, convert, drop
from .faults import Fault, ServiceEdit, closing, outcomes, replies, requests, rewrite, state
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


def _rendering(dialect: Dialect) -> ServiceEdit:
    """Answer as this dialect does."""
    return lambda svc: replace(svc, render=dialect.render)


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
                    fault=Fault(service=(_rendering(dialect),)),
                )


def _piped_accounts(message: dict[str, Any]) -> dict[str, Any]:
    """Read an LCM key written with dashes as the one with pipes (a dashes variant takes its own keys)."""
    data = message.get("data")
    if isinstance(data, dict) and isinstance(data.get("AccountNumber"), str):
        message["data"] = {**data, "AccountNumber": data["AccountNumber"].replace("-", "|")}
    return message


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
    yield Variant(name="open.expiry-iso", basis="the table gives ExpiryTime as a String; its format is "
                  "only the sample's (spec/formats.yaml is our generalisation)",
                  description="ExpiryTime written in ISO 8601 (2024-01-31T23:59:00)",
                  fault=rewrite(convert(RESPONSE, "ExpiryTime", iso), api=GRMDC, failures=False))
    yield Variant(name="open.account-dashes", basis="the table gives AccountNumber (the LCM key) as a String; "
                  "the pipes are only the samples'",
                  description="the LCM key written with dashes (0-1-234-0-0-00-1234)",
                  fault=Fault(service=(
                      *rewrite(convert(RESPONSE, "AccountNumber", lambda v: v.replace("|", "-")), api=GRMDC,
                               failures=False).service,
                      *requests(_piped_accounts).service)))
    yield Variant(name="open.phone-normalised", fast=True,
                  basis="Manual Dial Call: data holds the details of the number; only the sample repeats it as sent",
                  description="ManualDialCall echoes a bare-digit number rewritten as E.164 (+…)",
                  fault=rewrite(convert("message.data", "PhoneNumber", e164), api=MDC, failures=False))
    yield Variant(name="open.actual-error-text", fast=True,
                  basis="Set Telephony Outcome: Possible Error Cases table (its Actual Error column is the page's too)",
                  description="call id errors say 'Callid is empty' / 'Invalid Call ID:<id>' (the Actual Error column)",
                  fault=outcomes(actual_error))
    yield Variant(name="open.non-pewc-msg-wording", basis="Skip Non-PEWC Contact: msg is not mandatory; the "
                  "sample's text is an example",
                  description="a non-PEWC skip with nothing to skip says 'No contact found'",
                  fault=rewrite(convert(RESPONSE, "msg", const("No contact found")), api=SNPC, failures=False))
    yield Variant(name="open.non-pewc-any-contact", basis="D-25: nothing in the pages ties a non-PEWC contact "
                  "to a non-consent one",
                  description="with no non-consent contact held, SkipNonPEWCContact skips a consent one",
                  fault=state(sf.NonConsentSkipTakesAny))
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
