"""The service core without sockets: frame text in, reply frames out."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from conformance.server import build_service
from conformance.server.outcomes import Answer
from conformance.server.service import Service
from conformance.spec import DOC_TYPES, Api, Field
from server_helpers import APIS, ERROR_TYPE, SPEC, api_by_op, bad_frames, doc_order_replay, error_text, sample_request

GRMDC, SMDC, MDC, SNPC, SCOC = (
    api_by_op(op) for op in ("reserve", "skip", "dial", "skip_non_consent", "set_outcome")
)


def ask(service: Service, message: dict[str, Any] | str | bytes) -> dict[str, Any]:
    """Send one frame; exactly one reply must come."""
    frame = message if isinstance(message, (str, bytes)) else json.dumps(message)
    [reply] = service.handle(frame).frames
    return json.loads(reply)


def statuses(service: Service) -> dict[int, tuple[Any, Any]]:
    return {c.contact_id: (c.status, c.agent) for c in service.state.contacts.values()}


def test_doc_samples_sent_in_doc_order_get_exactly_the_doc_responses():
    service = build_service(dialect="samples")
    for request, response in doc_order_replay():
        assert ask(service, request) == response


PY_TYPES = {"array": list, "object": dict, "string": str, "boolean": bool, "number": (int, float)}


def conforms(value: Any, fields: tuple[Field, ...], where: str) -> None:
    """``value`` carries every mandatory table row with its table type, recursively."""
    assert isinstance(value, dict), where
    for f in fields:
        if f.mandatory:
            assert f.name in value, f"{where}.{f.name} missing"
        if f.name in value:
            got = value[f.name]
            kind = DOC_TYPES[f.type]
            assert isinstance(got, PY_TYPES[kind]), f"{where}.{f.name} is not {kind}"
            for item in got if kind == "array" else [got] if f.children else []:
                conforms(item, f.children, f"{where}.{f.name}")


@pytest.mark.parametrize("api", APIS, ids=lambda a: a.name)
def test_the_tables_dialect_answers_as_the_response_tables_say(api: Api):
    service = build_service(dialect="tables")
    reply = ask(service, sample_request(api))
    envelope = {k: v for k, v in api.response_envelope.items() if k != "message"}
    assert {k: v for k, v in reply.items() if k != "message"} == envelope
    conforms(reply["message"], api.response_message, "message")


def test_the_samples_dialect_sends_a_list_when_there_is_not_exactly_one_contact():
    service = build_service(dialect="samples")
    request = sample_request(GRMDC)
    field = next(k for k in request["data"] if k.lower() == "numberofcontactsrequired")
    for count, expected in ((2, 2), (0, 0)):
        request["data"][field] = count
        assert len(ask(service, request)["message"]["response"]) == expected


def table_form(api: Api) -> dict[str, Any]:
    """The sample request rewritten exactly as the tables say (names, types, envelope)."""
    sample = sample_request(api)
    by_lower = {k.lower(): v for k, v in sample["data"].items()}
    data = {}
    for f in api.request_data:
        value = by_lower[f.name.lower()]
        data[f.name] = {"String": str(value), "Boolean": True}.get(f.type, value)
    envelope = {k: v for k, v in api.request_envelope.items() if not v.startswith("«") and k != "data"}
    return {**envelope, "source": "conformance-tests", "data": data}


def registry_variants(api: Api) -> list[tuple[str, dict[str, Any]]]:
    """The table form, the sample, and one request per spelling, type and value the registry lists."""
    base = table_form(api)
    variants = [("tables", base), ("sample", sample_request(api))]
    for effect in SPEC.effects(api.name):
        _part, _, name = effect.path.partition(".")[2].partition(".")
        if not effect.path.startswith("request."):
            continue
        for also in effect.also or [None]:
            message = json.loads(json.dumps(base))
            if effect.kind == "name":
                message["data"][also] = message["data"].pop(name)
            elif effect.kind == "type" and effect.values:
                for word in effect.values:
                    message["data"][name] = word
                    variants.append((f"{effect.discrepancy} {name}={word!r}", json.loads(json.dumps(message))))
                continue
            elif effect.kind == "type":
                message["data"][name] = int(message["data"][name])
            elif effect.kind == "value":
                message[name] = also
            elif effect.kind == "optional":
                del message[name]
            variants.append((f"{effect.discrepancy} {effect.kind} {name} {also}", message))
    return variants


@pytest.mark.parametrize("api", APIS, ids=lambda a: a.name)
@pytest.mark.parametrize("dialect", ["samples", "tables"])
def test_every_spelling_type_and_value_the_registry_lists_is_accepted(api: Api, dialect: str):
    service = build_service(dialect=dialect)
    for label, message in registry_variants(api):
        reply = ask(service, message)
        assert error_text(reply) is None, f"{label}: {error_text(reply)}"
        assert reply["subtopic"] == api.response_subtopic, label


@pytest.mark.parametrize("case", list(bad_frames()))
@pytest.mark.parametrize("dialect", ["samples", "tables"])
def test_each_bad_input_gets_one_clear_error_reply_and_leaves_the_state_alone(case: str, dialect: str):
    service = build_service(dialect=dialect)
    frame, api = bad_frames()[case]
    before = statuses(service)
    reply = ask(service, frame)
    assert reply["subtopic"] == (api.response_subtopic if api else ERROR_TYPE)
    assert reply["message"]["error"]["type"] == ERROR_TYPE
    assert reply["message"]["response"] == {"success": False, "msg": error_text(reply)}
    assert len(error_text(reply)) > 10
    assert statuses(service) == before
    assert ask(service, sample_request(MDC))["message"]["data"] == sample_request(MDC)["data"]


def scoc(callid: Any = "12345", **changes: Any) -> dict[str, Any]:
    message = sample_request(SCOC)
    message["data"].update(callid=callid, **changes)
    return message


@pytest.mark.parametrize("callid, case", [("", 0), ("no-such-call", 1)])
def test_the_documented_call_id_errors_carry_the_documented_message_and_the_call_id(callid, case):
    service = build_service()
    reply = ask(service, scoc(callid))
    documented = SCOC.errors[case]
    assert reply["subtopic"] == SCOC.response_subtopic
    assert reply["message"]["callid"] == callid
    assert reply["message"]["response"] == {"success": False, "msg": documented.message}
    assert reply["message"]["error"] == {"type": documented.type, "message": documented.message}


def test_other_outcome_errors_still_echo_the_call_id():
    service = build_service()
    message = scoc()
    message["data"]["LeadScore"] = "high"
    reply = ask(service, message)
    assert reply["message"]["callid"] == "12345" and "LeadScore" in error_text(reply)


def test_an_outcome_for_another_account_is_refused_with_the_call_id():
    reply = ask(build_service(), scoc(AccountNumber="1|1|1|1|1|1|1"))
    assert reply["message"]["callid"] == "12345"
    assert reply["message"]["response"]["success"] is False and error_text(reply) is None


def test_an_agent_that_is_not_logged_in_gets_an_error_reply():
    request = sample_request(SNPC)
    request["data"] = {k: "nobody" for k in request["data"]}
    reply = ask(build_service(), request)
    assert reply["subtopic"] == SNPC.response_subtopic and "nobody" in error_text(reply)


@pytest.mark.parametrize("count", ["two", "-1", "1.5", "9" * 12])
def test_a_contact_count_that_is_no_whole_number_is_an_error(count):
    request = sample_request(GRMDC)
    field = next(k for k in request["data"] if k.lower() == "numberofcontactsrequired")
    request["data"][field] = count
    assert "whole number" in error_text(ask(build_service(), request))


def test_after_the_version_that_drops_it_an_api_is_an_unknown_subtopic():
    [dropped] = [api for api in APIS if api.max_cm_version]
    later = build_service(cm_version=dropped.max_cm_version + 1)
    reply = ask(later, sample_request(dropped))
    assert reply["subtopic"] == ERROR_TYPE and str(dropped.max_cm_version) in error_text(reply)
    assert error_text(ask(later, sample_request(MDC))) is None
    same = build_service(cm_version=dropped.max_cm_version)
    assert error_text(ask(same, sample_request(dropped))) is None


def test_a_handler_override_that_fails_costs_one_error_reply():
    clean = build_service()

    def broken(state, request):
        raise RuntimeError("injected")

    faulty = dataclasses.replace(clean, handlers={**clean.handlers, MDC.name: broken})
    reply = ask(faulty, sample_request(MDC))
    assert reply["subtopic"] == MDC.response_subtopic and "injected" in error_text(reply)
    assert ask(faulty, sample_request(SCOC)) == SCOC.sample_responses[0].message


def test_the_render_step_can_be_wrapped_to_rewrite_responses():
    clean = build_service()
    doubled = dataclasses.replace(clean, render=lambda outcome: clean.render(outcome) * 2)
    assert len(doubled.handle(json.dumps(sample_request(MDC))).frames) == 2
    silent = dataclasses.replace(clean, handlers={MDC.name: lambda s, r: Answer(MDC.name, {})})
    assert ask(silent, sample_request(MDC))["message"] == {}
