"""Judge one request an agent application sent, against the request tables (pure).

Per requirement id (each row of the API's Request Parameters and Data Parameters tables):
PASS when the request writes it as the tables say, NON-STRICT when only as a sample shows
(naming the registered discrepancy), FAIL when neither (a mandatory row missing, a type no
form allows), INFORMATIONAL when only a value format generalised from the samples is off.
A request on a subtopic no page documents FAILs the subtopic rows of every page, but one a
page names as an API without documenting it (the registered discrepancies of kind
``reference`` and ``naming`` quote each such name: "Get Download All Contacts", D-16;
"SetTelephonyOutcome", D-17) is only INFORMATIONAL: whether the vendor serves it the
pages leave open. A frame
that is no JSON object is recorded, never judged (one JSON message per text frame is the
project's wire binding, not the pages').
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..hypo.frames import LARGE, Expectation
from ..results import CheckResult, Verdict
from ..spec import Api, Spec
from ..validation import Judgement, Violation, judge

UNKNOWN_ID = "client.subtopic"
NAMING_KINDS = ("reference", "naming")
"""Kinds of discrepancy whose evidence quotes an API a page names (``spec/discrepancies.yaml``)."""
_NAMED_API = re.compile(r"([A-Za-z][A-Za-z ]*?) API\b")
ODD_ID = "client.not-a-request"


@dataclass(frozen=True)
class ClientJudgement:
    """What one frame from the client is, and its verdict per requirement."""

    api: Api | None
    message: dict[str, Any] | None
    judgement: Judgement | None
    checks: tuple[tuple[str, CheckResult], ...]
    """(result id, check) per requirement: ``client.<requirement id>``, or one of the
    :data:`UNKNOWN_ID` and :data:`ODD_ID` results."""

    def expectation(self, text: str) -> Expectation | None:
        """How the request must be answered, in the words of ``run``'s generated frames
        (:func:`conformance.hypo.frames.expectation`): valid, invalid (a mandatory row
        missing: documented) or odd (inferred). Unlike there, a value off a format only
        generalised from the samples leaves a recorded request valid: an application
        sends its own endpoint's values, not the samples'."""
        api, j = self.api, self.judgement
        if api is None or j is None:
            return None
        if len(text.encode("utf-8", "surrogatepass")) > LARGE:
            return Expectation("odd", "inferred", (api.envelope_id("response", "subtopic"),),
                               f"inferred: {api.title}: the docs say nothing of frames that are not requests, "
                               "nor of their size")
        if j.verdict != "fail":
            return Expectation("valid", "documented", tuple(api.requirement_ids("response")),
                               f"{api.title}: Response Parameters and Message Parameters tables")
        rows = {f.id: f for f in api.request_data}
        missing = [v for v in j.lenient if v.keyword == "required" and v.requirement in rows]
        if len(missing) == len(j.lenient):
            names = ", ".join(sorted({rows[str(v.requirement)].name for v in missing}))
            return Expectation("invalid", "documented", tuple(dict.fromkeys(str(v.requirement) for v in missing)),
                               f"{api.title}: Data Parameters table, row {names}")
        return Expectation("odd", "inferred", tuple(dict.fromkeys(v.requirement for v in j.lenient if v.requirement)),
                           f"inferred: {api.title}: Request Parameters and Data Parameters tables (a frame outside "
                           "them; how it is refused is not documented)")

    @property
    def form(self) -> str | None:
        """``tables`` when the request follows the tables, ``page`` when only a sample's form."""
        if self.judgement is None:
            return None
        return {"pass": "tables", "non_strict": "page"}.get(self.judgement.verdict)


def parse(frame: str | bytes) -> dict[str, Any] | None:
    """The frame as a JSON object, or None (binary, not JSON, not an object)."""
    if not isinstance(frame, str):
        return None
    try:
        value = json.loads(frame)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def judge_request(spec: Spec, frame: str | bytes) -> ClientJudgement:
    """The client-side verdicts on one frame an application sent."""
    message = parse(frame)
    if message is None:
        what = "a binary frame" if isinstance(frame, bytes) else "a text frame that is no JSON object"
        check = CheckResult(
            "request", Verdict.INFORMATIONAL, (), "inferred",
            "inferred: one JSON message per text frame is the project's wire binding (DESIGN.md); the pages "
            "show every request as a JSON object", "a JSON object", what)
        return ClientJudgement(None, None, None, ((ODD_ID, check),))
    subtopic = message.get("subtopic")
    api = spec.apis.get(subtopic) if isinstance(subtopic, str) else None
    if api is None:
        return ClientJudgement(None, message, None, ((UNKNOWN_ID, _unknown(spec, subtopic)),))
    judgement = judge(message, api.name, "request")
    checks = tuple((f"client.{req}", check) for req, check in _per_requirement(api, judgement))
    return ClientJudgement(api, message, judgement, checks)


def _squeezed(name: str) -> str:
    """A name as a subtopic would spell it, whatever its spacing and case."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def mentioned(spec: Spec) -> dict[str, tuple[str, str]]:
    """The APIs the pages name but give no page of their own: squeezed name -> (name as
    quoted, discrepancy id and where it is quoted)."""
    documented = {_squeezed(a) for a in spec.apis}
    out: dict[str, tuple[str, str]] = {}
    for d in spec.discrepancies.values():
        if d.kind not in NAMING_KINDS:
            continue
        for e in d.evidence:
            for part in str(e.get("says", "")).split(","):
                found = _NAMED_API.search(part.strip())
                if found and (key := _squeezed(found.group(1))) not in documented:
                    out.setdefault(key, (found.group(1), f"{d.id}: {e.get('page')}, {e.get('where')}"))
    return out


def _unknown(spec: Spec, subtopic: Any) -> CheckResult:
    named = mentioned(spec).get(_squeezed(subtopic)) if isinstance(subtopic, str) else None
    if named is not None:
        return CheckResult(
            "request subtopic", Verdict.INFORMATIONAL, (), "inferred",
            f"inferred: {named[1]} names a {named[0]} API that no page documents, so whether it is served is "
            "not documented", "one of the documented request subtopics", f"subtopic {json.dumps(subtopic)[:120]}")
    documented = ", ".join(spec.apis)
    return CheckResult(
        "request subtopic", Verdict.FAIL, tuple(a.envelope_id("request", "subtopic") for a in spec.apis.values()),
        "documented", "every page's Request Parameters table, row subtopic",
        f"one of the documented request subtopics ({documented})",
        "no subtopic" if subtopic is None else f"subtopic {json.dumps(subtopic, ensure_ascii=False)[:120]}")


def _row_doc(api: Api, requirement: str) -> str:
    prefix = f"{api.abbr}.request."
    rest = requirement.removeprefix(prefix)
    if rest.startswith("envelope."):
        return f"{api.title}: Request Parameters table, row {rest.removeprefix('envelope.')}; Sample Request"
    return f"{api.title}: Data Parameters table, row {rest.removeprefix('data.')}; Sample Request"


def _shown(violations: list[Violation]) -> str:
    return "; ".join(f"{v.path}: {v.message}" for v in violations[:4])


def _per_requirement(api: Api, j: Judgement) -> list[tuple[str, CheckResult]]:
    """One check per request row: the worst the request does on it."""
    fallback = api.envelope_id("request", "data")
    ids = api.requirement_ids("request")

    def owned(violations: tuple[Violation, ...]) -> dict[str, list[Violation]]:
        out: dict[str, list[Violation]] = {}
        for v in violations:
            out.setdefault(v.requirement if v.requirement in ids else fallback, []).append(v)
        return out

    failed, strict, inferred = owned(j.lenient), owned(j.strict), owned(j.inferred)
    results = []
    for req in ids:
        doc = _row_doc(api, req)
        expected = f"{req} as the {api.title} tables write it"
        if req in failed:
            check = CheckResult(req, Verdict.FAIL, (req,), "documented", doc,
                                expected + " (or as its sample does)", _shown(failed[req]))
        elif req in strict:
            found = tuple(sorted({d for v in strict[req] for d in v.discrepancies}))
            check = CheckResult(req, Verdict.NON_STRICT, (req,), "documented", doc, expected,
                                f"the sample's form: {_shown(strict[req])}", found)
        elif req in inferred:
            check = CheckResult(req, Verdict.INFORMATIONAL, (req,), "inferred",
                                f"inferred: {doc} (a value format generalised from the samples)", expected,
                                _shown(inferred[req]))
        else:
            check = CheckResult(req, Verdict.PASS, (req,), "documented", doc, expected, "as the tables write it")
        results.append((req, check))
    return results
