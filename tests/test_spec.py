"""spec/ is complete: every row described, ids unique, samples present."""

from __future__ import annotations

from conformance.spec import DOC_TYPES, load_spec

SPEC = load_spec()


def test_five_apis_in_client_order() -> None:
    assert next(iter(SPEC.apis)) == "GetReservedManualDialContact"
    assert len(SPEC.apis) == 5


def test_every_row_has_our_description_a_known_type_and_a_unique_id() -> None:
    ids = []
    for api in SPEC.apis.values():
        for field in api.fields():
            assert field.description, field.id
            assert field.type in DOC_TYPES, field.id
            assert field.format is None or field.format in SPEC.formats, field.id
            ids.append(field.id)
    assert len(ids) == len(set(ids))


def test_every_page_has_samples_and_the_envelope_tables() -> None:
    for api in SPEC.apis.values():
        assert api.sample_requests and api.sample_responses, api.name
        assert api.request_envelope["subtopic"] == api.name
        assert {"channel", "topic", "subtopic"} <= set(api.response_envelope)


def test_format_examples_match_their_patterns() -> None:
    import re

    for fmt in SPEC.formats.values():
        for example in fmt.examples:
            assert re.fullmatch(fmt.pattern, example), (fmt.name, example)
