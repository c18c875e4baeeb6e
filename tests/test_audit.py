"""``lcm-conformance audit``: a trace judged offline, both directions, as ``run`` judges.

Hand-written traces show each check failing on a faulty reply (a check that cannot fail
is a defect); recorded traces show the audit agreeing with ``run``: the suite's own run
against the reference server audits with 0 FAIL, and against mutants of the reference
server every FAIL ``run`` finds on the wire is found by the audit of its trace.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import re
import secrets
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pytest

from conformance import trace
from conformance.audit import Auditor
from conformance.audit.contacts import ROLES
from conformance.commands import audit as audit_command
from conformance.messages import build_request
from conformance.mutants import TARGETS
from conformance.mutants.driver import Settings, mutation_profile, seed_agents, suite_cases
from conformance.mutants.serving import running_target
from conformance.profile import Profile, default_profile, load_profile
from conformance.proxy import ProxySettings, recording
from conformance.report import write_reports
from conformance.results import CaseResult, RunResult, Verdict
from conformance.runner import RunOptions, run_blocking, run_cases
from conformance.server import background_server, in_background
from conformance.spec import load_spec

SPEC = load_spec()
PROFILE = default_profile("ws://127.0.0.1/")
AGENT, OTHER = "agent-1@example.com", "agent-2@example.com"
BOUND = 60.0


def contact(n: int, *, consent: str = "Yes") -> dict[str, Any]:
    return {"PhoneNumber": f"208209{n:04d}", "AccountNumber": f"0|1|234|0|0|00|{n}", "CampaignId": "AD Manual Dial",
            "Mode": "Mobile", "ContactId": n, "ExpiryTime": "01/31/2024 23:59:00",
            "CallbackTime": "01/31/2024 05:09:25", "CallType": 0, "Consent": consent}


def reply(api: str, message: Any, **envelope: Any) -> dict[str, Any]:
    sample = copy.deepcopy(SPEC.api(api).sample_responses[0].message)
    return {**sample, **envelope, "message": message}


def download(agent: str = AGENT, count: int = 1, *, reserved: bool = False, consent: bool = True,
             form: str = "tables") -> dict[str, Any]:
    return build_request(SPEC, "GetReservedManualDialContact", form,
                         {"AgentID": agent, "NumberOfContactsRequired": count, "Consent": consent,
                          "ReservedContacts": reserved})


def contacts(*found: dict[str, Any]) -> dict[str, Any]:
    return reply("GetReservedManualDialContact", {"response": list(found)})


def skip(n: int, agent: str = AGENT) -> dict[str, Any]:
    return build_request(SPEC, "SkipManualDialContact", "tables",
                         {"UserId": agent, "AccountNumber": f"0|1|234|0|0|00|{n}", "PhoneNumber": f"208209{n:04d}",
                          "OutcomeId": PROFILE.fixtures.telephony_outcome_id})


def skipped(success: bool = True) -> dict[str, Any]:
    return reply("SkipManualDialContact", {"response": {"success": success}})


class Script:
    """A trace written event by event, read back as ``audit`` reads a file."""

    def __init__(self) -> None:
        self.lines = [trace.encode(trace.header_event("2025-01-01T00:00:00Z", "ws://vendor.example/", "-"))]
        self.t = 0.0

    def _add(self, event: dict[str, Any], dt: float) -> Script:
        self.t += dt
        event["t"] = round(self.t, 6)
        self.lines.append(trace.encode(event))
        return self

    def open(self, conn: int = 1, headers: tuple[tuple[str, str], ...] = ()) -> Script:
        return self._add(trace.open_event(0, conn, "/", headers, None), 0.001)

    def send(self, message: Any, conn: int = 1, dt: float = 0.01) -> Script:
        text = message if isinstance(message, (str, bytes)) else json.dumps(message)
        return self._add(trace.frame_event(0, conn, "client", text), dt)

    def answer(self, message: Any, conn: int = 1, dt: float = 0.01) -> Script:
        text = message if isinstance(message, str) else json.dumps(message)
        return self._add(trace.frame_event(0, conn, "server", text), dt)

    def close(self, by: str = "client", conn: int = 1, code: int = 1000, dt: float = 0.01) -> Script:
        return self._add(trace.close_event(0, conn, by, code, ""), dt)  # type: ignore[arg-type]

    def audit(self, profile: Profile = PROFILE, **options: Any) -> dict[str, CaseResult]:
        auditor = Auditor(SPEC, profile, **options)
        auditor.feed_all(trace.read(self.lines))
        return {r.id: r for r in auditor.finish()}

    def write(self, path: Path) -> Path:
        path.write_bytes(b"".join(self.lines))
        return path


def failed(results: dict[str, CaseResult]) -> set[str]:
    return {ident for ident, r in results.items() if r.verdict is Verdict.FAIL}


# ------------------------------------------------------------------ pairing and time


def test_a_reply_in_time_passes_and_one_past_the_timeout_fails() -> None:
    dial = build_request(SPEC, "ManualDialCall", "tables", {"PhoneNumber": "+12345678900"})
    echo = reply("ManualDialCall", {"Subtopic": "ManualDialCall", "Topic": "Webservice", "Channel": "LCM",
                                    "data": {"PhoneNumber": "+12345678900"}}, channel="LCM", topic="Webservice")
    good = Script().open().send(dial).answer(echo).close().audit()
    assert good["server.ManualDialCall.answered"].verdict is Verdict.PASS
    assert good["server.ManualDialCall.schema"].verdict is Verdict.PASS
    late = Script().open().send(dial).answer(echo, dt=6.0).close().audit()
    answered = late["server.ManualDialCall.answered"]
    assert answered.verdict is Verdict.FAIL
    assert re.search(r"line 3 answered: .*no 'ManualDialCall' reply within 5s", answered.detail), answered.detail
    quick = Script().open().send(dial).answer(echo, dt=0.4).close().audit(
        load_profile(None, {"url": "ws://x/", "timeouts": {"response": 0.3}}, env={}))
    assert quick["server.ManualDialCall.answered"].verdict is Verdict.FAIL


def test_who_ends_the_connection_decides_whether_a_missing_reply_fails() -> None:
    dial = build_request(SPEC, "ManualDialCall", "tables", {"PhoneNumber": "+12345678900"})
    by_server = Script().open().send(dial).close("server", code=1011).audit()
    assert "connection closed before" in by_server["server.ManualDialCall.answered"].detail
    assert by_server["server.ManualDialCall.answered"].verdict is Verdict.FAIL
    by_client = Script().open().send(dial).close("client").audit()["server.ManualDialCall.answered"]
    assert by_client.not_run and "the application closed the connection" in by_client.not_run
    cut_short = Script().open().send(dial).audit()["server.ManualDialCall.answered"]
    assert cut_short.not_run == "the trace ends before its reply was due"


def test_a_reply_two_outstanding_requests_could_own_is_ambiguous_never_guessed() -> None:
    dial = build_request(SPEC, "ManualDialCall", "tables", {"PhoneNumber": "+12345678900"})
    echo = reply("ManualDialCall", {"Subtopic": "ManualDialCall", "Topic": "LCM", "Channel": "Webservice",
                                    "data": {"PhoneNumber": "+1"}})  # a wrong echo: judged by nobody
    results = Script().open().send(dial).send(dial).answer(echo).close().audit()
    pairing = results["trace.pairing"]
    assert pairing.verdict is Verdict.INFORMATIONAL
    assert "2 requests (lines 3, 4) could own the frame at line 5" in pairing.detail
    assert not failed(results) - {k for k in failed(results) if k.startswith("client.")}


def test_the_echoed_callid_pairs_replies_that_come_out_of_order() -> None:
    def outcome(callid: str) -> dict[str, Any]:
        return build_request(SPEC, "SetCallOutcomeWithComments", "tables",
                             {"callid": callid, "AccountNumber": "5|3|1|0|0|44|1", "OutcomeID": "1", "UserID": AGENT})

    def result(callid: str) -> dict[str, Any]:
        return reply("SetCallOutcomeWithComments", {"callid": callid, "response": {"success": True}})

    results = Script().open().send(outcome("a")).send(outcome("b")).answer(result("b")).answer(result("a")).audit()
    assert "trace.pairing" not in results
    assert results["server.SetCallOutcomeWithComments.echo.data.callid"].verdict is Verdict.PASS


# ------------------------------------------------------------------ checks that fail


def test_a_reply_off_the_tables_and_samples_fails_its_schema() -> None:
    bad = contact(1)
    bad["ContactId"] = "1"
    results = Script().open().send(download()).answer(contacts(bad)).audit()
    schema = results["server.GetReservedManualDialContact.schema"]
    assert schema.verdict is Verdict.FAIL
    assert "GRMDC.response.message.response.ContactID" in schema.requirements


def test_too_many_contacts_or_the_wrong_consent_fail() -> None:
    results = Script().open().send(download(count=1)).answer(contacts(contact(1), contact(2, consent="No"))).audit()
    assert results["server.GetReservedManualDialContact.at_most"].verdict is Verdict.FAIL
    assert results["server.GetReservedManualDialContact.consent"].verdict is Verdict.FAIL


def test_a_skipped_contact_handed_out_again_fails() -> None:
    results = (Script().open().send(download()).answer(contacts(contact(1)))
               .send(skip(1)).answer(skipped()).send(download()).answer(contacts(contact(1))).audit())
    again = results["server.GetReservedManualDialContact.not_returned"]
    assert again.verdict is Verdict.FAIL
    assert "lines 7→8" in again.detail and "0|1|234|0|0|00|1" in again.detail
    assert results["server.SkipManualDialContact.success"].verdict is Verdict.PASS


def test_one_contact_held_by_two_agents_fails() -> None:
    results = (Script().open().send(download(AGENT)).answer(contacts(contact(1)))
               .open(2).send(download(OTHER), conn=2).answer(contacts(contact(1)), conn=2).audit())
    assert results["server.GetReservedManualDialContact.disjoint"].verdict is Verdict.FAIL
    fine = (Script().open().send(download(AGENT)).answer(contacts(contact(1)))
            .open(2).send(download(OTHER), conn=2).answer(contacts(contact(2)), conn=2).audit())
    assert fine["server.GetReservedManualDialContact.disjoint"].verdict is Verdict.PASS


def test_a_refetch_that_loses_the_agents_contacts_fails() -> None:
    lost = (Script().open().send(download()).answer(contacts(contact(1)))
            .send(download(count=5, reserved=True)).answer(contacts()).audit())
    assert lost["server.GetReservedManualDialContact.held_again"].verdict is Verdict.FAIL
    capped = (Script().open().send(download()).answer(contacts(contact(1)))
              .send(download(count=1, reserved=True)).answer(contacts(contact(7))).audit())  # asked one, got one
    assert capped["server.GetReservedManualDialContact.held_again"].verdict is Verdict.INFORMATIONAL


def test_what_changes_while_a_request_is_on_its_way_is_not_held_against_it() -> None:
    """Two connections of one agent: a skip answered after a re-fetch went out may have been
    served before or after it, whatever order the replies were recorded in."""
    before = (Script().open().send(download()).answer(contacts(contact(1))).open(2)
              .send(skip(1), conn=2).send(download(count=5, reserved=True)))
    lost_first = copy.deepcopy(before).answer(contacts()).answer(skipped(), conn=2).audit()
    assert "server.GetReservedManualDialContact.held_again" not in lost_first  # contact 1 was being skipped
    closed_first = copy.deepcopy(before).answer(skipped(), conn=2).answer(contacts(contact(1))).audit()
    assert closed_first["server.GetReservedManualDialContact.not_returned"].verdict is Verdict.PASS
    after = (Script().open().send(download()).answer(contacts(contact(1))).open(2)
             .send(skip(1), conn=2).answer(skipped(), conn=2).send(download(count=5, reserved=True))
             .answer(contacts(contact(1))).audit())
    assert after["server.GetReservedManualDialContact.not_returned"].verdict is Verdict.FAIL


def test_a_contact_handed_back_again_has_been_held_since_it_was_first() -> None:
    results = (Script().open().send(download()).answer(contacts(contact(1)))
               .open(2).send(download(), conn=2).answer(contacts(contact(2)), conn=2)
               .send(download(count=3, reserved=True)).send(download(count=5, reserved=True), conn=2)
               .answer(contacts(contact(1), contact(2)), conn=2).answer(contacts(contact(1))).audit())
    # one contact per answer is a cap the pages allow: contact 1 is the agent's, held since line 4
    assert results["server.GetReservedManualDialContact.held_again"].verdict is Verdict.INFORMATIONAL


def test_a_skip_of_a_held_contact_must_succeed_and_of_a_closed_one_must_not() -> None:
    refused = (Script().open().send(download()).answer(contacts(contact(1)))
               .send(skip(1)).answer(skipped(False)).audit(replace(PROFILE, agents=(AGENT,))))
    assert refused["server.SkipManualDialContact.success"].verdict is Verdict.FAIL
    twice = (Script().open().send(download()).answer(contacts(contact(1)))
             .send(skip(1)).answer(skipped()).send(skip(1)).answer(skipped()).audit())
    assert twice["server.SkipManualDialContact.not_success"].verdict is Verdict.FAIL
    unknown = Script().open().send(skip(9)).answer(skipped(False)).audit()  # nothing known of contact 9
    assert "server.SkipManualDialContact.success" not in unknown


def test_a_request_missing_a_mandatory_row_must_not_be_served() -> None:
    request = download()
    del request["data"]["AgentID"]
    results = Script().open().send(request).answer(contacts(contact(1))).audit()
    served = results["server.GetReservedManualDialContact.not_success"]
    assert served.verdict is Verdict.FAIL and served.requirements == ("GRMDC.request.data.AgentID",)
    assert results["client.GRMDC.request.data.AgentID"].verdict is Verdict.FAIL
    retyped = download()
    retyped["data"]["Consent"] = {"unexpected": "object"}
    inferred = Script().open().send(retyped).answer(contacts(contact(1))).audit()
    assert inferred["server.GetReservedManualDialContact.not_success"].verdict is Verdict.INFORMATIONAL


def test_a_sample_form_refused_where_the_tables_form_is_served_fails() -> None:
    results = (Script().open().send(download(form="page")).answer(contacts())
               .send(download(form="tables")).answer(contacts(contact(1))).audit())
    withheld = results["server.GetReservedManualDialContact.none_withheld"]
    assert withheld.verdict is Verdict.FAIL and withheld.requirements == ("GRMDC.sample.request.1",)


def test_an_empty_callid_accepted_and_a_wrong_echo_fail() -> None:
    outcome = build_request(SPEC, "SetCallOutcomeWithComments", "tables",
                            {"callid": "", "AccountNumber": "5|3|1|0|0|44|1", "OutcomeID": "1", "UserID": AGENT})
    results = Script().open().send(outcome).answer(
        reply("SetCallOutcomeWithComments", {"callid": "", "response": {"success": True}})).audit()
    assert results["server.SetCallOutcomeWithComments.error_case"].verdict is Verdict.FAIL
    dial = build_request(SPEC, "ManualDialCall", "page", {"PhoneNumber": "+12345678900"})
    swapped = reply("ManualDialCall", {"subtopic": "ManualDialCall", "topic": "Amazon", "channel": "InboundCall",
                                       "data": {"PhoneNumber": "+12345678900"}})
    echoed = Script().open().send(dial).answer(swapped).audit()
    assert echoed["server.ManualDialCall.echo.channel"].verdict is Verdict.FAIL


def test_the_profiles_call_refused_as_unknown_fails() -> None:
    outcome = build_request(SPEC, "SetCallOutcomeWithComments", "tables",
                            {"callid": PROFILE.fixtures.call_id, "AccountNumber": PROFILE.fixtures.account_number,
                             "OutcomeID": "1", "UserID": AGENT})
    refused = reply("SetCallOutcomeWithComments", {"callid": PROFILE.fixtures.call_id,
                                                   "response": {"success": False, "msg": "Invalid Call ID."}})
    results = Script().open().send(outcome).answer(refused).audit()
    assert results["server.SetCallOutcomeWithComments.not_error"].verdict is Verdict.FAIL


def test_a_bug_of_ours_is_an_error_naming_the_line_and_the_rest_is_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Auditor, "_reply", broken)
    results = Script().open().send(download()).answer(contacts(contact(1))).close().audit()
    error = results["trace.suite-error"]
    assert error.verdict is Verdict.ERROR and "line 4 suite error" in error.detail and "boom" in error.detail
    assert results["client.GRMDC.request.data.AgentID"].verdict is Verdict.PASS


def test_a_request_served_without_the_profiles_credentials_fails() -> None:
    profile = load_profile(None, {"url": "ws://x/", "headers": {"Authorization": "Bearer ${TOKEN}"}},
                           env={"TOKEN": "t0k3n"})
    dial = build_request(SPEC, "ManualDialCall", "tables", {"PhoneNumber": "+12345678900"})
    echo = reply("ManualDialCall", {"Subtopic": "ManualDialCall", "Topic": "Webservice", "Channel": "LCM",
                                    "data": {"PhoneNumber": "+12345678900"}})
    anonymous = Script().open().send(dial).answer(echo).audit(profile)
    assert anonymous["server.ManualDialCall.refused"].verdict is Verdict.FAIL
    signed = Script().open(headers=(("Authorization", "***"),)).send(dial).answer(echo).audit(profile)
    assert "server.ManualDialCall.refused" not in signed


def test_frames_that_answer_nothing_by_the_hundred_flood_the_trace() -> None:
    dial = build_request(SPEC, "ManualDialCall", "tables", {"PhoneNumber": "+12345678900"})
    script = Script().open().send(dial)
    for n in range(300):
        script.answer({"channel": "LCM", "topic": "Webservice", "subtopic": "Heartbeat", "message": {"n": n}},
                      dt=0.001)
    results = script.close().audit()
    assert results["run.unsolicited-frames"].verdict is Verdict.FAIL


def test_an_api_the_profile_says_is_withdrawn_is_unimplemented() -> None:
    profile = load_profile(None, {"url": "ws://x/", "campaign_manager_version": 2309}, env={})
    request = build_request(SPEC, "SkipNonPEWCContact", "tables", {"UserId": AGENT})
    results = Script().open().send(request).answer({"channel": "LCM", "subtopic": "WS_Error", "topic": "x",
                                                    "message": {"error": "unknown subtopic"}}).audit(profile)
    assert results["server.SkipNonPEWCContact.offered"].verdict is Verdict.UNIMPLEMENTED


def test_client_side_a_binary_frame_is_recorded_and_a_format_is_only_informational() -> None:
    outcome = build_request(SPEC, "SetCallOutcomeWithComments", "tables",
                            {"callid": "1", "AccountNumber": "1|2", "OutcomeID": "1", "UserID": AGENT})
    results = Script().open().send(b"\x00\x01").send(outcome).audit(server=False)
    assert results["client.not-a-request"].verdict is Verdict.INFORMATIONAL
    assert results["client.SCOC.request.data.AccountNumber"].verdict is Verdict.INFORMATIONAL
    assert results["client.SCOC.request.data.callid"].verdict is Verdict.PASS


def test_the_roles_name_rows_of_each_pages_data_table() -> None:
    for api, roles in ROLES.items():
        for row in roles.values():
            SPEC.api(api).field(f"request.data.{row}")


def test_every_result_names_its_lines_and_the_reports_show_their_frames(tmp_path: Path) -> None:
    results = (Script().open().send(download()).answer(contacts(contact(1)))
               .send(skip(1)).answer(skipped()).send(download()).answer(contacts(contact(1))).audit())
    for result in results.values():
        assert all(re.match(r"(line|lines) \d+", check.name) for check in result.checks), result.id
    run = RunResult("a trace", "test", results=list(results.values()))
    report = (write_reports(run, tmp_path)["markdown"]).read_text()
    assert re.search(r"lines 7→8 not\\?_returned", report)  # markdown escapes the underscore
    assert '"AccountNumber": "0|1|234|0|0|00|1"' in report  # the frames of those lines
    failing = results["server.GetReservedManualDialContact.not_returned"]
    assert failing.reproduce is not None and failing.reproduce["trace_lines"] == [7, 8]
    assert [f.direction for f in failing.frames] == ["sent", "received"]


# ------------------------------------------------------------------ the command


def audit(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    audit_command.add_arguments(parser)
    return audit_command.run(parser.parse_args(list(argv)))


def test_the_command_exit_codes_and_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = Script().open().send(download()).answer(contacts(contact(1))).close().write(tmp_path / "good.jsonl")
    bad = (Script().open().send(download(count=1)).answer(contacts(contact(1), contact(2))).close()
           .write(tmp_path / "bad.jsonl"))
    assert audit(str(good), "--report-dir", str(tmp_path / "r")) == 0
    assert json.loads((tmp_path / "r" / "results.json").read_text())["target"].startswith("ws://vendor.example/")
    assert audit(str(bad), "--quiet") == 1
    expected = tmp_path / "expected.yaml"
    expected.write_text("server.GetReservedManualDialContact.at_most: FAIL\n")
    assert audit(str(bad), "--quiet", "--expectations", str(expected)) == 0
    assert audit(str(bad), "--quiet", "--side", "client") == 0
    sample = (Script().open().send(download(form="page")).answer(contacts(contact(1))).close()
              .write(tmp_path / "sample.jsonl"))
    assert audit(str(sample), "--quiet", "--side", "client") == 0
    assert audit(str(sample), "--quiet", "--side", "client", "--strict") == 1
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"".join(Script().open().lines) + b'{"type": "frame", "t": 1}\n')
    capsys.readouterr()
    assert audit(str(broken)) == 2
    assert "broken.jsonl: line 3: a frame line lacks" in capsys.readouterr().err
    assert audit(str(tmp_path / "missing.jsonl")) == 2
    assert audit(str(good), "--response-timeout", "0") == 2


# ------------------------------------------------------------------ recorded traffic


def test_the_suites_own_run_recorded_through_the_proxy_audits_with_no_server_fail(tmp_path: Path) -> None:
    out = tmp_path / "suite.jsonl"
    with background_server() as upstream, \
            in_background(lambda: recording(ProxySettings(upstream=upstream), out)) as url:
        run = run_blocking(RunOptions(target=url, hypothesis_profile="quick"))
    assert not run.failed() and not run.errored()
    auditor = Auditor(SPEC, default_profile(url))
    with open(out, "rb") as lines:
        auditor.feed_all(trace.read(lines))
    results = {r.id: r for r in auditor.finish()}
    server = {k: r for k, r in results.items() if not k.startswith("client.")}
    assert not [(k, r.detail) for k, r in server.items() if r.verdict in (Verdict.FAIL, Verdict.ERROR)]
    assert len(server) > 20 and results["server.SkipManualDialContact.success"].verdict is Verdict.PASS
    # the suite's bad-input cases are bad requests: the client side says so
    assert results["client.GRMDC.request.data.AgentID"].verdict is Verdict.FAIL
    assert results["client.subtopic"].verdict is Verdict.FAIL


MUTANTS = (
    "envelope.topic-lowercase", "envelope.rejects-sample-topic", "fields.contactid-string", "fields.success-string",
    "fields.rejects-numeric-outcome", "echo.channel-topic-swapped", "state.shared-reservation",
    "state.refetch-empty", "state.skip-closed-again", "errors.refusal-says-success", "robustness.close-on-refusal",
    "robustness.flood", "security.token-ignored",
)
TIMED = re.compile(r"^no .* within [0-9.]+s")
OUTSIDE_THE_WIRE = frozenset({"SCOC.error.2", "SNPC.sample.response.2"})


def run_fails_on_the_wire(results: list[CaseResult]) -> set[str]:
    """The requirement ids ``run`` FAILed that a trace can show, each failing case's first failing step only.

    Left out, and why: a step whose reply did not come in time (timing: the trace's
    clock is the proxy's, not the suite's); checks outside a step (``target reachable``:
    a connection refused carries no request); the requirements that rest on what only the
    suite knew (SCOC.error.2: the call id it sent is one it made up; SNPC.sample.response.2:
    the agent it used has, by its convention, never fetched a contact); and later steps of
    a case whose earlier step FAILed (they build on what that step asked for: a refused
    skip's contact is re-fetched as if it had been skipped).
    """
    found = set()
    for result in results:
        steps = {}
        for check in result.checks:
            match = re.match(r"step (\d+) (.*)", check.name)
            if check.verdict is Verdict.FAIL and match:
                steps.setdefault(int(match[1]), []).append((match[2], check))
        if not steps:
            continue
        checks = steps[min(steps)]
        if any(name == "answered" and TIMED.search(check.actual) for name, check in checks):
            continue
        found |= {r for _, check in checks for r in check.requirements if r not in OUTSIDE_THE_WIRE}
    return found


async def _recorded_run(name: str, out: Path) -> tuple[Profile, list[CaseResult]]:
    target, token = TARGETS[name], secrets.token_urlsafe(8)
    async with running_target(target, token=token, agents=seed_agents()) as upstream, \
            recording(ProxySettings(upstream=upstream), out) as url:
        profile = mutation_profile(url, token, target, Settings())
        return profile, await run_cases(SPEC, profile, suite_cases())


def compare(name: str, directory: str) -> tuple[str, set[str], set[str]]:
    """Run the suite against one mutant through the proxy, audit the trace: (name, run's, audit's)."""
    out = Path(directory) / f"{name}.jsonl"
    profile, results = asyncio.run(asyncio.wait_for(_recorded_run(name, out), BOUND))
    auditor = Auditor(SPEC, profile, client=False, examples=10**6)
    with open(out, "rb") as lines:
        auditor.feed_all(trace.read(lines))
    audited = {r for result in auditor.finish() for c in result.checks if c.verdict is Verdict.FAIL
               for r in c.requirements}
    return name, run_fails_on_the_wire(results), audited


def test_every_fail_run_finds_on_the_wire_the_audit_of_its_trace_finds(tmp_path: Path) -> None:
    """Thirteen mutants of the reference server, one per kind of fault (envelope, fields,
    echo, state, errors, robustness, security): every requirement ``run`` FAILs without
    timing (see :func:`run_fails_on_the_wire` for what is left out, and why) is FAILed by
    the audit of the recorded trace too."""
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        compared = list(pool.map(compare, MUTANTS, [str(tmp_path)] * len(MUTANTS), timeout=4 * BOUND))
    for name, by_run, by_audit in compared:
        assert by_run, f"{name}: run found no FAIL on the wire: pick a mutant that shows one"
        assert by_run <= by_audit, f"{name}: the audit misses {sorted(by_run - by_audit)}"
