"""Seeds: the default one derived from the samples, seed files, and clear seed errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conformance.server import SeedError, build_service
from conformance.server.state import Status
from server_helpers import SPEC, api_by_op, sample_request

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "seed.yaml"
GRMDC = api_by_op("reserve")


def example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def download(service, agent: str, *, reserved: bool, consent: bool = True, count: int = 10) -> list[dict]:
    message = {
        "channel": "LCM", "topic": "Webservice", "subtopic": GRMDC.name, "source": "tests",
        "data": {"AgentID": agent, "NumberOfContactsRequired": str(count), "Consent": consent,
                 "ReservedContacts": reserved},
    }
    [reply] = service.handle(json.dumps(message)).frames
    return json.loads(reply)["message"]["response"]


def test_the_default_seed_logs_in_every_agent_the_samples_name():
    agents = build_service().state.agents
    named = {v for api in SPEC.apis.values() for s in api.sample_requests for k, v in s.message["data"].items()
             if k.lower() in ("agentid", "userid")}
    assert agents == named


def test_the_default_seed_has_a_pool_of_open_contacts_of_both_consent_types():
    service = build_service(dialect="tables")
    yes = download(service, "testagent", reserved=False, consent=True, count=50)
    no = download(service, "testagent", reserved=False, consent=False, count=50)
    assert len(yes) == len(no) == 50
    ids = [c["ContactID"] for c in yes + no]
    assert len(set(ids)) == 100
    assert len({c["AccountNumber"] for c in yes + no}) == 100


def test_the_example_seed_file_is_served_as_written():
    service = build_service(seed=EXAMPLE, dialect="tables")
    assert [c["ContactID"] for c in download(service, "alice@example.com", reserved=True, consent=False)] == [3]
    assert [c["ContactID"] for c in download(service, "bob@example.com", reserved=False)] == [1]
    assert download(service, "bob@example.com", reserved=False) == []  # 4 is closed
    assert service.state.contacts[4].status is Status.CLOSED


def test_a_seed_may_use_a_spelling_the_registry_lists():
    seed = example()
    seed["contacts"][0]["ContactId"] = seed["contacts"][0].pop("ContactID")
    assert 1 in build_service(seed=seed).state.contacts


def test_the_printed_default_seed_loads_back_as_the_same_world(tmp_path):
    from conformance.server.bindings import load_bindings
    from conformance.server.default_seed import default_seed

    printed = tmp_path / "default.yaml"
    printed.write_text(yaml.dump(default_seed(SPEC, load_bindings(SPEC)), Dumper=yaml.CSafeDumper), encoding="utf-8")
    document = printed
    again, default = build_service(seed=document), build_service()
    assert {i: (c.status, c.agent, c.record) for i, c in again.state.contacts.items()} == {
        i: (c.status, c.agent, c.record) for i, c in default.state.contacts.items()
    }


def broken(change) -> dict:
    seed = example()
    change(seed)
    return seed


@pytest.mark.parametrize(
    "seed, message",
    [
        (broken(lambda s: s.update(agentz=[])), "unknown top-level key"),
        (broken(lambda s: s.update(agents="alice")), "agents must be a list"),
        (broken(lambda s: s["contacts"][1].pop("PhoneNumber")), r"contacts\[1\].PhoneNumber is missing"),
        (broken(lambda s: s["contacts"][0].update(CallType="zero")), r"contacts\[0\].CallType must be a number"),
        (broken(lambda s: s["contacts"][0].update(ContactID=1.5)), "whole number"),
        (broken(lambda s: s["contacts"][1].update(ContactID=1)), "two contacts have id 1"),
        (broken(lambda s: s["contacts"][0].update(Consent="maybe")), r"contacts\[0\].Consent must be one of"),
        (broken(lambda s: s["contacts"][0].update(reserved_to="carol")), "unknown agent 'carol'"),
        (broken(lambda s: s["contacts"][3].update(reserved_to="bob@example.com")),
         "closed contact is reserved to no one"),
        (broken(lambda s: s["contacts"][0].update(Colour="red")), r"contacts\[0\]: unknown field\(s\) Colour"),
        (broken(lambda s: s["calls"][0].pop("account")), r"calls\[0\] must have exactly callid and account"),
        (broken(lambda s: s["calls"].append(dict(s["calls"][0]))), "same callid"),
        (broken(lambda s: s["outcomes"].update(other=[1])), "outcomes must be a mapping"),
        (broken(lambda s: s["outcomes"].update(telephony=[[1]])), "outcomes.telephony must list"),
    ],
)
def test_a_broken_seed_is_refused_with_the_place_named(seed, message):
    with pytest.raises(SeedError, match=message):
        build_service(seed=seed)


def test_an_unreadable_non_yaml_or_non_mapping_seed_file_is_a_seed_error(tmp_path):
    with pytest.raises(SeedError, match="cannot read seed"):
        build_service(seed=tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("agents: [unclosed\n", encoding="utf-8")
    with pytest.raises(SeedError, match="is not YAML"):
        build_service(seed=bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- alice\n- bob\n", encoding="utf-8")
    with pytest.raises(SeedError, match="a seed is a mapping"):
        build_service(seed=listed)


def test_a_seed_replaces_the_default_so_the_sample_agent_is_unknown():
    [reply] = build_service(seed=EXAMPLE).handle(json.dumps(sample_request(GRMDC))).frames
    assert "not logged in" in json.loads(reply)["message"]["error"]["message"]
