"""Property tests, per API: the example cases check what the docs show; these search the
space around them for what an implementation gets wrong.

* ``valid-requests``: every request valid against the schemas (the tables' form or the
  samples', every registered spelling) gets, in time, one reply on the documented
  response subtopic that follows the response tables. A refusal (``success: false``) is
  a valid answer, and the docs leave its shape open; any other malformed reply FAILs.
* ``invalid-requests``: a request missing a table row, or with a type no form allows,
  never gets a success, nor silence, nor a closed connection; frames outside the tables
  (an envelope member dropped, an unknown subtopic, a frame cut short) are judged as the
  docs' silence allows (INFORMATIONAL at worst); and the next request is answered.
* ``echo``: the answer repeats what the Message Parameters table says it repeats (the call
  id of SetCallOutcomeWithComments, the request of ManualDialCall), found from the spec.
* ``robustness``: random bytes, huge strings, deep nesting and Unicode in every string
  member: a reply is expected (inferred; a type no form allows must not succeed, which
  is documented), and the target keeps answering.

Valid requests meet the pages' prerequisites (the profile's agents, its known call):
how a target refuses a request that does not is an error case, whose reply the docs
leave open (its subtopic included), so it is no ground for a FAIL here.

Each run is one result (:mod:`conformance.hypo.record`) with id ``property.<API>.<kind>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from .engine import REFUSAL_WAIT
from .hypo import frames
from .hypo.driver import Example, Sent, Session
from .hypo.plan import KINDS
from .hypo.record import Hunt, Meta, PropertyRun
from .results import CaseResult, CheckResult, Verdict
from .spec import Api, Spec
from .strategies import fixture_pools, message_strategy

PER_EXAMPLE = {"valid-requests": 3, "invalid-requests": 2, "echo": 1, "robustness": 2}
"""Messages one example sends at most (valid requests: up to two, then the follow-up)."""
MAX_REQUESTS = PER_EXAMPLE["valid-requests"] - 1


def property_id(api: str, kind: str) -> str:
    return f"property.{api}.{kind}"


def echoes(api: Api) -> list[tuple[str, str]]:
    """(request member, reply member) for each Message Parameters row named like a request
    envelope member or Data Parameters row: what the answer repeats."""
    sent = {k.casefold(): k for k in api.request_envelope}
    sent.update((row.name.casefold(), f"data.{row.name}") for row in api.request_data)
    return [(sent[row.name.casefold()], row.name) for row in api.response_message if row.name.casefold() in sent]


def property_runs(spec: Spec) -> list[PropertyRun]:
    """Every property run, API by API in spec order (echo only where the answer echoes)."""
    return [
        PropertyRun(property_id(api.name, kind), api.name, _runner(api.name, kind))
        for api in spec.apis.values()
        for kind in KINDS
        if kind != "echo" or echoes(api)
    ]


def _runner(api_name: str, kind: str) -> Callable[[Session], CaseResult]:
    return lambda session: _Property(session, session.spec.api(api_name), kind).run()


class _Property:
    def __init__(self, session: Session, api: Api, kind: str) -> None:
        self.session, self.api, self.kind = session, api, kind
        self.pools = fixture_pools(session.spec, session.profile)

    def meta(self) -> Meta:
        api, rows = self.api, ", ".join(reply for _, reply in echoes(self.api))
        title, requirements, doc, basis = {
            "valid-requests": (
                f"Every schema-valid {api.name} request gets one reply on {api.response_subtopic} "
                "that follows the response tables",
                api.requirement_ids("response"), f"{api.title}: Response Parameters and Message Parameters tables",
                "documented"),
            "invalid-requests": (
                f"No {api.name} request the tables forbid succeeds, and the next request is answered",
                [row.id for row in api.request_data if row.mandatory],
                f"{api.title}: Data Parameters table (Mandatory and Data Type columns)", "documented"),
            "echo": (
                f"The {api.name} answer repeats the request's {rows}",
                [api.field(f"response.message.{reply}").id for _, reply in echoes(api)],
                f"{api.title}: Message Parameters table, rows {rows}; Sample Response", "documented"),
            "robustness": (
                f"Random bytes, huge strings, deep nesting and Unicode in {api.name} requests leave the target "
                "answering",
                [api.envelope_id("response", "subtopic")],
                f"inferred: {api.title}: the docs say nothing of such frames", "inferred"),
        }[self.kind]
        return Meta(property_id(api.name, self.kind), title, api, tuple(requirements), doc, basis)

    def run(self) -> CaseResult:
        meta = self.meta()
        why = self.session.unavailable(self.api)
        if why:
            return meta.result(Verdict.UNIMPLEMENTED, f"not run: {why}", not_run=why)
        hunt = Hunt(self.session, meta, messages=self._examples() * PER_EXAMPLE[self.kind])
        strategy, body = getattr(self, self.kind.replace("-", "_"))(hunt)
        return hunt.run(hunt.test(strategy, body, self._examples()))

    def _examples(self) -> int:
        return self.session.plan.examples[self.kind]

    def _valid(self) -> st.SearchStrategy[dict[str, Any]]:
        """Requests as the tables write them or as the samples show them, meeting the pages'
        prerequisites (the profile's agents and fixtures)."""
        return st.one_of(*(message_strategy(self.api.name, "request", p, self.pools) for p in ("strict", "lenient")))

    def _follow_up(self, example: Example) -> Sent:
        return example.send(frames.follow_up(self.session.spec, self.session.profile, self.api))

    # ---- the four properties: (strategy, body) each

    def valid_requests(self, hunt: Hunt) -> tuple[st.SearchStrategy[Any], Callable[[Any], Example]]:
        def body(requests: list[dict[str, Any]]) -> Example:
            example = hunt.example()
            for message in requests:
                example.send(frames.step(message, checks=frames.VALID_CHECKS), forgive_refusal=True)
            self._follow_up(example)
            example.note(self._one_reply(example, len(requests)))
            return example

        return st.lists(self._valid(), min_size=1, max_size=MAX_REQUESTS), body

    def invalid_requests(self, hunt: Hunt) -> tuple[st.SearchStrategy[Any], Callable[[Any], Example]]:
        return frames.invalid_frames(self.api, self._valid()), self._bad_frame_body(hunt, robust=False)

    def robustness(self, hunt: Hunt) -> tuple[st.SearchStrategy[Any], Callable[[Any], Example]]:
        return frames.odd_frames(self._valid()), self._bad_frame_body(hunt, robust=True)

    def echo(self, hunt: Hunt) -> tuple[st.SearchStrategy[Any], Callable[[Any], Example]]:
        checks = (*frames.VALID_CHECKS, *({"echo": {"request": r, "reply": p}} for r, p in echoes(self.api)))

        def body(message: dict[str, Any]) -> Example:
            example = hunt.example()
            example.send(frames.step(message, checks=checks), forgive_refusal=True)
            return example

        return self._valid(), body

    # ---- shared parts

    def _bad_frame_body(self, hunt: Hunt, *, robust: bool) -> Callable[[frames.Frame], Example]:
        def body(frame: frames.Frame) -> Example:
            step, expected = frames.judged_step(self.api, frame, robust=robust)
            example = hunt.example(expected.basis)
            # No page says a forbidden frame is answered: wait as the example cases do.
            wait = REFUSAL_WAIT if step.expect == "reply" else None
            example.send(step, forgive_refusal=expected.kind == "valid", wait=wait)
            after = self._follow_up(example)
            if after.exchange is not None:
                example.note(self._kept_open(after))
            return example

        return body

    def _one_reply(self, example: Example, requests: int) -> CheckResult:
        subtopic = self.api.response_subtopic
        got = example.replies(subtopic)
        return CheckResult(
            "one reply per request", Verdict.PASS if got <= requests else Verdict.INFORMATIONAL,
            (self.api.envelope_id("response", "subtopic"),), "inferred",
            "inferred: the pages show one response per request; they do not forbid more",
            f"at most {requests} {subtopic!r} repl{'y' if requests == 1 else 'ies'} to {requests} request(s)",
            f"{got}",
        )

    def _kept_open(self, after: Sent) -> CheckResult:
        """As the example cases judge it: after a frame the tables forbid, or one that is no
        request, the pages say nothing of the connection (the follow-up must be served)."""
        return CheckResult(
            "connection kept open", Verdict.INFORMATIONAL if after.reopened else Verdict.PASS,
            (self.api.envelope_id("request", "channel"),), "inferred",
            "inferred: the docs do not say whether a connection outlives a frame they forbid",
            "the same connection to serve the next request",
            "the target closed it after the frame; the next request needed a new connection"
            if after.reopened else "it did",
        )
