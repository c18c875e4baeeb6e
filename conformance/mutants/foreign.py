"""The second implementation in a mutation run: the foreign target's mutants and variants.

The foreign target (:mod:`conformance.foreign`) shares no code with the reference server,
so the score it gets says how the suite does on an implementation it was not fitted to.
Its mutants are its own deliberate faults (:data:`conformance.foreign.faults.FAULTS`),
named ``foreign.<area>.<fault>``; its variants are its default and a few combinations of
the choices the pages leave open (docs/open-choices.md), named ``foreign.variant.<name>``.
"""

from __future__ import annotations

from dataclasses import replace

from ..foreign.faults import FAULTS
from ..foreign.target import Choices
from ..spec import load_spec
from .targets import FOREIGN, Foreign, Mutant, Variant

_OPEN = "the pages leave these points open (docs/open-choices.md)"


def _withdrawn() -> int:
    """The first Campaign Manager version without SkipNonPEWCContact."""
    return 1 + max(a.max_cm_version for a in load_spec().apis.values() if a.max_cm_version is not None)


def build_mutants() -> tuple[Mutant, ...]:
    """One mutant per fault of the foreign target, on its default choices."""
    return tuple(
        Mutant(name=f"{FOREIGN}.{name}", requirement=fault.requirement, description=fault.description,
               foreign=Foreign(faults=(name,)), fast=fault.fast)
        for name, fault in FAULTS.items()
    )


def build_variants() -> tuple[Variant, ...]:
    """The foreign target's default and a few combinations of its open choices."""
    withdrawn = _withdrawn()
    quiet = Choices(greeting=False, broadcast_every=0.0, reply_delay=0.0, key_order="doc", extra_members="none")
    combos: tuple[tuple[str, bool, str, Choices], ...] = (
        ("default", True, "every open choice otherwise than the reference server makes it", Choices()),
        ("samples", True, ("answers in the samples' forms: WebService, ContactId, single objects, Yes/No, "
         "doc times, piped keys, UI/InboundCall and lower-case echo, refusals as results"),
         Choices(topic="WebService", contact_id_key="ContactId", single_as="object", time_format="doc",
                 phone_format="digits", account_format="pipe", consent_values="yesno", snpc_response_as="object",
                 mdc_channel="UI", mdc_topic="InboundCall", mdc_echo_case="lower", refusal="result",
                 error_subtopic="response")),
        ("tables", False, ("answers in the tables' forms and nothing unasked: the table topics, arrays, "
         "the echo in the tables' spelling, refusals on the API's response subtopic"),
         replace(quiet, topic="table", contact_id_key="ContactID", single_as="array", snpc_response_as="array",
                 mdc_channel="LCM", mdc_topic="request", mdc_echo_case="title", mdc_echo_extra=False,
                 refusal="result", error_subtopic="response")),
        ("strict-reader", False, ("reads strictly where the pages allow it: known channels, topics and agents "
         "only, no type coercion, checked phone numbers, outcome ids and accounts, one outcome per call, "
         "silence to bad requests, a close after a frame that is no request"),
         Choices(envelope_check=True, coerce_types=False, binary="invalid", agents="known", max_frame=64 * 1024,
                 not_request="close", bad_request="silent", outcome_check=True, skip_phone_check=True,
                 scoc_account_check=True, scoc_repeat="refuse", mdc_phone_check="digits", skip_scope="own",
                 zero_count="refuse", empty_as="refuse")),
        ("terse-errors", False, ("error replies of another shape: a bare string on WS_Error without detail, "
         "the call id repeated, every frame that is no request answered"),
         replace(quiet, error_body="string", error_detail=False, error_echo_callid=True, not_request="reply",
                 refusal="error", error_subtopic="WS_Error")),
        ("one-at-a-time", False, ("one contact per answer, epoch times, CallType from 0, a callback time on "
         "every contact, SkipNonPEWCContact closing every non-PEWC contact the agent holds"),
         Choices(max_per_request=1, time_format="epoch", call_type_base=0, callback_when_none="time",
                 snpc_which="all", snpc_effect="close", snpc_msg="Contact not found")),
    )
    variants = [
        Variant(name=f"{FOREIGN}.variant.{name}", description=f"the foreign target: {text}", basis=_OPEN,
                foreign=Foreign(choices=choices), fast=fast)
        for name, fast, text, choices in combos
    ]
    basis = "Skip Non-PEWC Contact: Note (compatible up to Campaign Manager 2308)"
    variants += [
        Variant(name=f"{FOREIGN}.variant.withdrawn-declared", basis=basis,
                description=f"the foreign target as a Campaign Manager {withdrawn} without SkipNonPEWCContact, "
                            "as its profile says",
                foreign=Foreign(choices=Choices(snpc_offered=False)),
                profile={"campaign_manager_version": withdrawn}),
        # Undeclared, a withdrawn API must say so: silence to it looks like a target that never
        # answers a valid request, which no suite could tell from a withdrawal.
        Variant(name=f"{FOREIGN}.variant.withdrawn-undeclared", basis=basis,
                description="the foreign target without SkipNonPEWCContact, refusing it as an unknown subtopic; "
                            "its profile says no version",
                foreign=Foreign(choices=Choices(snpc_offered=False, not_request="reply")),
                profile={"campaign_manager_version": None}),
    ]
    return tuple(variants)


FOREIGN_MUTANTS = build_mutants()
FOREIGN_VARIANTS = build_variants()
