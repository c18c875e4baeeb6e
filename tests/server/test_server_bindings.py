"""bindings.yaml: every role resolves in spec/, and a role spec/ lacks stops the server."""

from __future__ import annotations

import pytest
import yaml

from conformance.server.bindings import BINDINGS_FILE, BindingError, load_bindings
from server_helpers import SPEC


def test_every_binding_resolves_and_the_texts_come_from_spec():
    bindings = load_bindings(SPEC)
    errors = [e for api in SPEC.apis.values() for e in api.errors]
    assert bindings.error_type == errors[0].type
    assert bindings.texts["empty_callid"] == errors[0].message
    skip_non_consent = bindings.operations["skip_non_consent"].api
    assert bindings.texts["contact_not_found"] in [
        s.message["message"]["response"].get("msg") for s in skip_non_consent.sample_responses
    ]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["operations"]["reserve"]["roles"].update(agent="request.data.Nobody"),
         "has no field request.data.Nobody"),
        (lambda d: d["operations"]["dial"]["copies"].update({"response.message.data": "request.envelope.nothing"}),
         "no request part"),
        (lambda d: d["operations"]["skip"].update(api="NoSuchApi"), "no documented API"),
        (lambda d: d["texts"].update(contact_not_found={"sample": "SNPC.sample.response.2", "path": "message.nothing"}),
         "has no text"),
        (lambda d: d["texts"].update(unknown_callid={"error": "SCOC.error.99"}), "spec has no"),
    ],
)
def test_a_binding_spec_lacks_is_refused(tmp_path, change, message):
    document = yaml.safe_load(BINDINGS_FILE.read_text(encoding="utf-8"))
    change(document)
    path = tmp_path / "bindings.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(BindingError, match=message):
        load_bindings(SPEC, path)
