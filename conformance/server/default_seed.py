"""The default seed, derived from the doc's sample messages when the server starts.

Every sample request, sent in the order of spec/index.yaml, must get exactly its sample
response (in the samples dialect). So the seed holds what the samples presume:

- each agent a sample request names is logged in;
- the contact of the download sample, reserved to the download sample's agent when that
  sample asks for reserved contacts;
- the contact the skip sample names (its account and phone), open for the skip sample's
  agent; its outcome id is a valid business outcome;
- one non-consent contact reserved to the agent of the non-PEWC skip sample, so the first
  such skip succeeds and the second finds nothing;
- the call of the outcome sample (call id -> account); its outcome id is a valid
  telephony outcome;
- a pool of open contacts of both consent types for new downloads, copied from the
  sample contact with fresh ids and the trailing digits of account and phone counted up.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from ..spec import Spec
from .bindings import Bindings, Operation
from .inputs import Reader
from .seed import ACCOUNT, CALLID, RESERVED_TO, ContactReader
from .wire import MESSAGE

POOL_SIZE = 1000
"""Open contacts of each consent type in the pool."""


def _count_up(text: str, by: int) -> str:
    """``text`` with its trailing number raised by ``by``, keeping its width."""
    match = re.search(r"[0-9]+$", text)
    if match is None:
        return f"{text}{by}"
    digits = match.group()
    return text[: match.start()] + str(int(digits) + by).zfill(len(digits))


def default_seed(spec: Spec, bindings: Bindings) -> dict[str, Any]:
    """The default seed document (the same format a seed file has)."""
    reader = Reader(spec)
    contacts = ContactReader(spec, bindings)
    ops = bindings.operations
    names = bindings.contact.names

    def sample(op_name: str) -> tuple[Operation, dict[str, Any]]:
        op = ops[op_name]
        return op, dict(reader.read(json.dumps(op.api.sample_requests[0].message)).data)

    reserve, asked = sample("reserve")
    shown = reserve.api.sample_responses[0].message[MESSAGE][reserve["contacts"]]
    template = contacts.record(shown[0] if isinstance(shown, list) else shown, "the download sample")
    no_consent = next(word for word, truth in contacts.words.items() if not truth)
    serial = itertools.count(1)

    def copy(**fields: Any) -> dict[str, Any]:
        n = next(serial)
        return {
            **template,
            names["id"]: template[names["id"]] + n,
            names["account"]: _count_up(template[names["account"]], n),
            names["phone"]: _count_up(template[names["phone"]], n),
            **fields,
        }

    skip, skipped = sample("skip")
    skip_nc, skipped_nc = sample("skip_non_consent")
    outcome, outcome_of = sample("set_outcome")
    agent = asked[reserve["agent"]]
    seeded = [
        {**template, RESERVED_TO: agent} if asked[reserve["reserved"]] else template,
        copy(
            **{names["account"]: skipped[skip["account"]], names["phone"]: skipped[skip["phone"]]},
            **{RESERVED_TO: skipped[skip["agent"]]},
        ),
        copy(**{names["consent"]: no_consent, RESERVED_TO: skipped_nc[skip_nc["agent"]]}),
    ]
    for _ in range(POOL_SIZE):
        seeded += [copy(), copy(**{names["consent"]: no_consent})]
    agents = (agent, skipped[skip["agent"]], skipped_nc[skip_nc["agent"]], outcome_of[outcome["agent"]])
    return {
        "agents": list(dict.fromkeys(agents)),
        "outcomes": {
            "telephony": [outcome_of[outcome["outcome"]]],
            "business": [skipped[skip["outcome"]]],
        },
        "contacts": seeded,
        "calls": [{CALLID: outcome_of[outcome["callid"]], ACCOUNT: outcome_of[outcome["account"]]}],
    }
