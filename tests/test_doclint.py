"""The doc lint finds contradictions, and the registry explains every one of them."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from conformance.doclint import all_findings, explaining, sample_findings, unregistered
from conformance.spec import Api, Sample, load_spec

SPEC = load_spec()


def test_every_finding_is_registered() -> None:
    missing = unregistered(SPEC)
    assert not missing, "register these in spec/discrepancies.yaml:\n" + "\n".join(
        f.describe() for f in missing
    )


def test_every_registry_entry_explains_something_or_is_a_documented_reading() -> None:
    used = {d for f in all_findings(SPEC) for d in explaining(SPEC, f)}
    # entries with neither effects nor locations record facts the lint cannot see
    silent = {d.id for d in SPEC.discrepancies.values() if not d.effects and not d.locations}
    assert set(SPEC.discrepancies) - used - silent == set()


def test_registry_ids_are_sequential_and_effects_point_at_real_places() -> None:
    ids = list(SPEC.discrepancies)
    assert ids == [f"D-{n:02d}" for n in range(1, len(ids) + 1)]
    for d in SPEC.discrepancies.values():
        for e in d.effects:
            for name in e.apis:
                api = SPEC.api(name)
                head, part, *rest = e.path.split(".", 2)
                if part == "envelope":
                    table = api.request_envelope if head == "request" else api.response_envelope
                    assert rest[0] in table, (d.id, e.path)
                elif rest:
                    api.field(e.path)
                else:
                    assert e.kind == "sample_fields" and part in ("data", "message"), d.id


def _with_sample(api: Api, message: dict) -> Api:
    sample = Sample(id="test.sample", heading="Sample Request", message=message)
    return dataclasses.replace(api, sample_requests=(sample,), sample_responses=())


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        (lambda m: m.update(channel="Other"), "value"),
        (lambda m: m["data"].update(PhoneNumber=1234567890), "type"),
        (lambda m: m["data"].pop("AccountNumber"), "presence"),
        (lambda m: m["data"].update(Extra=1), "untabled"),
        (lambda m: m["data"].update(accountnumber=m["data"].pop("AccountNumber")), "name"),
    ],
)
def test_a_new_contradiction_is_found_and_reported_unregistered(change, kind: str) -> None:
    api = SPEC.api("SkipManualDialContact")
    message = copy.deepcopy(api.sample_requests[0].message)
    change(message)
    changed = _with_sample(api, message)
    new = [f for f in sample_findings(changed) if not explaining(SPEC, f)]
    assert [f.kind for f in new] == [kind]
