"""``audit`` FAILs only on a documented rule: what rests on the trace's inference alone
(state it cannot see, subtopics the pages name but do not specify) is never a FAIL.

Each test is a hand-written trace that the audit once judged FAIL without a documented
rule behind it, next to the faulty trace that must still FAIL.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conformance.results import Verdict
from test_audit import AGENT, PROFILE, Script, contact, contacts, download, failed, skip, skipped

WITHHELD = "server.GetReservedManualDialContact.none_withheld"


def test_none_withheld_ignores_an_earlier_request_the_agents_contacts_changed_since() -> None:
    """A contact handed out on another connection between the two forms is no withholding."""
    results = (Script().open().send(download(form="page", reserved=True)).answer(contacts())
               .open(2).send(download(), conn=2).answer(contacts(contact(1)), conn=2)
               .send(download(form="tables", reserved=True)).answer(contacts(contact(1))).audit())
    assert WITHHELD not in results
    assert not failed(results)
    # the same re-fetch with nothing in between still fails
    faulty = (Script().open().send(download(form="page", reserved=True)).answer(contacts())
              .send(download(form="tables", reserved=True)).answer(contacts(contact(1))).audit())
    assert WITHHELD in failed(faulty)


def test_none_withheld_ignores_an_earlier_request_still_in_flight_elsewhere() -> None:
    """A download of the same agent awaiting its reply may have served the contact first."""
    results = (Script().open().send(download(form="page", reserved=True)).answer(contacts())
               .open(2).send(download(), conn=2)
               .send(download(form="tables", reserved=True)).answer(contacts(contact(1)))
               .answer(contacts(contact(1)), conn=2).audit())
    assert WITHHELD not in results


def test_none_withheld_ignores_an_earlier_request_that_got_no_reply() -> None:
    results = (Script().open().send(download(form="page", reserved=True))
               .send(download(form="tables", reserved=True), dt=6.0).answer(contacts(contact(1))).audit())
    assert WITHHELD not in results


def _subtopic(name: str) -> dict[str, Any]:
    request = download()
    request["subtopic"] = name
    return Script().open().send(request).close().audit()["client.subtopic"].to_json()


def test_a_subtopic_the_pages_name_without_specifying_it_is_informational() -> None:
    """Skip Manual Dial Contact, Pre-requisite names a "Get Download All Contacts" API (D-16) and
    Set Telephony Outcome's overview a SetTelephonyOutcome API (D-17): no page gives their tables."""
    for name in ("GetDownloadAllContacts", "Get Download All Contacts", "SetTelephonyOutcome"):
        judged = _subtopic(name)
        assert judged["verdict"] == "informational" and judged["basis"] == "inferred", name
        assert "D-16" in judged["doc"] or "D-17" in judged["doc"], judged["doc"]
    unknown = _subtopic("GetAllTheContacts")  # no page names it
    assert unknown["verdict"] == "fail" and unknown["basis"] == "documented"


def test_a_refused_skip_fails_only_for_an_agent_the_profile_says_is_logged_in() -> None:
    """Skip Manual Dial Contact, Pre-requisite: the agent must be logged in, which a trace does
    not show; the profile's agents are the ones its owner says are."""
    trace = Script().open().send(download()).answer(contacts(contact(1))).send(skip(1)).answer(skipped(False))
    unknown = trace.audit()["server.SkipManualDialContact.success"]
    assert unknown.verdict is Verdict.INFORMATIONAL and unknown.basis == "inferred"
    assert "logged in" in unknown.doc
    logged_in = trace.audit(replace(PROFILE, agents=(AGENT,)))["server.SkipManualDialContact.success"]
    assert logged_in.verdict is Verdict.FAIL and logged_in.basis == "documented"


def test_the_audit_and_the_reference_server_compare_outcome_ids_with_one_helper() -> None:
    """One page types OutcomeId a Number, another a String: both sides read 1.0 and "1" alike."""
    from conformance.audit import contacts
    from conformance.messages import outcome_key
    from conformance.server import state

    assert contacts.outcome_key is state.outcome_key is outcome_key
    assert outcome_key(1.0) == outcome_key(1) == outcome_key("1") == "1" and outcome_key(1.5) == "1.5"


def _expiring(n: int, expiry: str = "01/01/2025 01:00:00") -> dict[str, Any]:
    """A contact whose reservation ends an hour after the trace starts (2025-01-01T00:00:00Z)."""
    return {**contact(n), "ExpiryTime": expiry}


def _handed_to_both(later: float, expiry: str = "01/01/2025 01:00:00") -> dict[str, Any]:
    return (Script().open().send(download()).answer(contacts(_expiring(1, expiry)))
            .send(download("other-agent"), dt=later).answer(contacts(_expiring(1, expiry))).audit())


def test_a_contact_handed_to_another_agent_after_its_expiry_time_is_informational() -> None:
    """Get Reserved Manual Dial Contact gives each contact an ExpiryTime, but not what follows it:
    a second agent given it once its reservation lapsed breaks no documented rule."""
    disjoint = "server.GetReservedManualDialContact.disjoint"
    lapsed = _handed_to_both(20 * 3600)[disjoint]
    assert lapsed.verdict is Verdict.INFORMATIONAL, lapsed.detail  # agent A's own download PASSed
    assert [(c.basis, c.verdict) for c in lapsed.checks] == [("inferred", Verdict.INFORMATIONAL)]
    assert "may have lapsed at its ExpiryTime" in lapsed.detail and "01/01/2025 01:00:00" in lapsed.detail
    # while the reservation runs (even read in any time zone), it is one agent's
    held = _handed_to_both(600)[disjoint]
    assert held.verdict is Verdict.FAIL and held.basis == "documented"
    # an expiry already past when handed out (the sample's 2024 one), or unreadable, changes nothing
    for expiry in ("01/31/2024 23:59:00", "tomorrow"):
        assert _handed_to_both(20 * 3600, expiry)[disjoint].verdict is Verdict.FAIL, expiry


def test_a_re_fetch_after_the_expiry_time_need_not_give_the_contact_back() -> None:
    def refetch(later: float) -> Any:
        return (Script().open().send(download()).answer(contacts(_expiring(1)))
                .send(download(reserved=True), dt=later).answer(contacts()).audit()
                )["server.GetReservedManualDialContact.held_again"]

    lapsed = refetch(20 * 3600)
    assert lapsed.verdict is Verdict.INFORMATIONAL and lapsed.basis == "inferred"
    assert "may have lapsed at its ExpiryTime" in lapsed.detail
    assert refetch(600).verdict is Verdict.FAIL
