"""The property tests: none FAILs against the reference server in either dialect; each
FAILs against a target faulty in the way it is built to find, with the shrunk example as
a case file that replays; inferred requirements never FAIL; every run is bounded.

Targets run on one event loop thread; the property runs are driven from the test thread
through it, as the runner and the plugin drive them. Only 127.0.0.1, short timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis.database import DirectoryBasedExampleDatabase
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from conformance.cases import load_case_file
from conformance.checks import refusal_sign
from conformance.cli import main
from conformance.engine import CaseRunner
from conformance.hypo import frames, suite
from conformance.hypo.driver import Portal, Session
from conformance.hypo.plan import KINDS, PLANS, hypothesis_settings, plan
from conformance.paths import data_dir
from conformance.profile import Profile, load_profile
from conformance.results import CaseResult, Verdict
from conformance.runner import RunOptions, UsageError, plan_run
from conformance.server import Service, build_service, running_server, running_service
from conformance.spec import load_spec
from faulty_targets import FaultyTarget

SPEC = load_spec()
MDC, SCOC, SMDC = (SPEC.api(n) for n in ("ManualDialCall", "SetCallOutcomeWithComments", "SkipManualDialContact"))
RESPONSE_TIMEOUT = 0.3
PLAN = replace(plan("ci"), examples={k: 12 for k in KINDS}, stateful_examples=10, seconds_per_run=20.0)
"""Derandomized (so a test sees the same examples every run) and larger than quick."""
BOUND = 30.0


# ------------------------------------------------------------------------- harness


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@contextlib.contextmanager
def serving(loop: asyncio.AbstractEventLoop, server: contextlib.AbstractAsyncContextManager[str]) -> Iterator[str]:
    """Run an async server context on the loop; yield its URL."""
    url = asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
    try:
        yield url
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)


def target_profile(url: str, **overrides: Any) -> Profile:
    return load_profile(None, {"url": url, "timeouts.response": RESPONSE_TIMEOUT, "timeouts.connect": 2,
                               **overrides}, env={})


def new_session(loop: asyncio.AbstractEventLoop, url: str, *, report_dir: Path | None = None,
                plan_: Any = PLAN, **overrides: Any) -> Session:
    return Session(SPEC, target_profile(url, **overrides), plan_, Portal(loop), url, report_dir=report_dir)


def run(session: Session, *ids: str) -> list[CaseResult]:
    runs = [r for r in suite.all_runs(SPEC) if not ids or r.id in ids]
    assert runs, ids
    started = time.monotonic()
    results = suite.run_all(session, runs)
    assert time.monotonic() - started < BOUND
    for result in results:
        judged_as_documented(result)
    return results


def judged_as_documented(result: CaseResult) -> None:
    """Only a documented requirement FAILs; a FAIL shows its frames and a case file."""
    assert all(c.basis == "documented" for c in result.checks if c.verdict is Verdict.FAIL), result.checks
    if result.verdict is Verdict.FAIL:
        assert result.frames and result.reproduce and "case_yaml" in result.reproduce


def failing(result: CaseResult, check: str) -> None:
    assert result.verdict is Verdict.FAIL, result.detail
    names = [c.name.split(" ", 2)[-1] for c in result.checks if c.verdict is Verdict.FAIL]
    assert any(n.startswith(check) for n in names), (names, result.detail)


def _answering(subtopic: str) -> Any:
    return next(a for a in SPEC.apis.values() if a.response_subtopic == subtopic)


def rewriting(service: Service, subtopic: str, change: Callable[[dict[str, Any]], None]) -> Service:
    """The service with every answer (not refusal) on ``subtopic`` changed in place."""
    render = service.render

    def wrapped(outcome: Any) -> list[dict[str, Any]]:
        replies = render(outcome)
        for reply in replies:
            if reply.get("subtopic") == subtopic and refusal_sign(_answering(subtopic), reply) is None:
                change(reply["message"])
        return replies

    service.render = wrapped
    return service


@contextlib.asynccontextmanager
async def misbehaving(service: Service, misbehave: Callable[[str | bytes], str | None]) -> AsyncIterator[str]:
    """The service behind a transport that, when ``misbehave(frame)`` says so, closes the
    connection ("close", a crash) or stops answering anyone ("deaf", a hung service)."""
    deaf = False

    async def session(ws: ServerConnection) -> None:
        nonlocal deaf
        try:
            async for frame in ws:
                action = misbehave(frame)
                if action == "close":
                    await ws.close(1011, "crashed")
                    return
                deaf = deaf or action == "deaf"
                for reply in [] if deaf else service.handle(frame).frames:
                    await ws.send(reply)
        except ConnectionClosed:
            pass

    async with serve(session, "127.0.0.1", 0) as server:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"


def lacks_a_row(frame: str | bytes) -> str | None:
    """"close" for a request of a documented API missing one of its mandatory rows."""
    try:
        message = json.loads(frame)
        api, data = SPEC.apis.get(message.get("subtopic")), message.get("data")
    except (ValueError, AttributeError, TypeError):
        return None
    if api is None or not isinstance(data, dict):
        return None
    present = {k.casefold() for k in data}
    return "close" if any(r.mandatory and r.name.casefold() not in present for r in api.request_data) else None


def not_json(frame: str | bytes) -> str | None:
    try:
        json.loads(frame)
    except ValueError:
        return "deaf"
    return None


# ------------------------------------------------------------ the reference server


@pytest.mark.parametrize("dialect", ["samples", "tables"])
def test_no_property_fails_against_the_reference_server(loop: asyncio.AbstractEventLoop, dialect: str) -> None:
    with serving(loop, running_server(dialect=dialect)) as url:
        results = run(new_session(loop, url))
    assert {r.verdict for r in results} <= {Verdict.PASS, Verdict.NON_STRICT, Verdict.INFORMATIONAL}, \
        [(r.id, r.detail) for r in results if r.verdict is Verdict.FAIL]
    assert any(r.verdict is Verdict.NON_STRICT for r in results) is (dialect == "samples")
    assert {r.id for r in results} >= {f"property.{a}.{k}" for a in SPEC.apis for k in KINDS if k != "echo"}
    assert not any(r.not_run for r in results)


def test_the_quick_profile_sends_about_two_hundred_messages(loop: asyncio.AbstractEventLoop) -> None:
    service = build_service()
    handle, seen = service.handle, []
    service.handle = lambda frame: seen.append(frame) or handle(frame)  # type: ignore[method-assign]
    with serving(loop, running_service(service)) as url:
        run(new_session(loop, url, plan_=PLANS["quick"]))
    assert 100 <= len(seen) <= 220


# ---------------------------------------------------------------- faulty targets


def test_a_wrong_type_in_a_response_fails_valid_requests_and_the_case_file_replays(
        loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    def wrong_type(message: dict[str, Any]) -> None:
        for key in [k for k in message if k.casefold() == "channel"]:
            message[key] = 1

    service = rewriting(build_service(dialect="tables"), MDC.response_subtopic, wrong_type)
    with serving(loop, running_service(service)) as url:
        [result] = run(new_session(loop, url, report_dir=tmp_path), "property.ManualDialCall.valid-requests")
        failing(result, "schema")
        case_file = tmp_path / "property.ManualDialCall.valid-requests.yaml"
        assert result.reproduce["case_file"] == str(case_file)
        assert case_file.read_text(encoding="utf-8") == result.reproduce["case_yaml"]
        assert str(case_file) in result.reproduce["case_command"]

        [case] = load_case_file(SPEC, case_file)
        replayed = asyncio.run_coroutine_threadsafe(CaseRunner(SPEC, target_profile(url)).run(case), loop).result(10)
        assert replayed.verdict is Verdict.FAIL
        assert main(["run", "--quiet", "--target", url, "--case", str(case_file)]) == 1


def test_a_missing_echo_fails_the_echo_property(loop: asyncio.AbstractEventLoop) -> None:
    service = rewriting(build_service(dialect="tables"), SCOC.response_subtopic, lambda m: m.pop("callid", None))
    with serving(loop, running_service(service)) as url:
        [result] = run(new_session(loop, url), "property.SetCallOutcomeWithComments.echo")
    failing(result, "echo")


def test_a_crash_on_a_missing_field_is_recorded_not_judged(loop: asyncio.AbstractEventLoop) -> None:
    with serving(loop, misbehaving(build_service(dialect="tables"), lacks_a_row)) as url:
        [result] = run(new_session(loop, url), "property.SkipManualDialContact.invalid-requests")
    # Closing on a request the tables forbid is no success, and no page speaks of the
    # connection then: recorded, not judged; the follow-up on a new connection is served.
    assert result.verdict is not Verdict.FAIL, result.detail
    kept = next(c for c in result.checks if c.name == "connection kept open" and "closed" in c.actual)
    assert kept.verdict is Verdict.INFORMATIONAL and kept.requirements == (SMDC.envelope_id("request", "channel"),)


def test_a_target_that_hangs_on_garbage_fails_robustness(loop: asyncio.AbstractEventLoop) -> None:
    with serving(loop, misbehaving(build_service(dialect="tables"), not_json)) as url:
        [result] = run(new_session(loop, url), "property.ManualDialCall.robustness")
    failing(result, "answered")
    fails = [c for c in result.checks if c.verdict is Verdict.FAIL]
    assert all(c.basis == "documented" for c in fails)


def test_answering_odd_frames_with_a_success_is_informational_only(loop: asyncio.AbstractEventLoop) -> None:
    """A frame outside the tables (an unknown subtopic here) answered as a success: the
    docs do not say it must be refused, so the property notes it and does not FAIL."""
    service = build_service(dialect="tables")
    handle = service.handle

    def lenient(frame: str | bytes) -> Any:
        exchange = handle(frame)
        subtopic = json.loads(exchange.frames[0]).get("subtopic") if exchange.frames else None
        if subtopic not in {a.response_subtopic for a in SPEC.apis.values()}:
            reply = {"channel": "LCM", "topic": "Webservice", "subtopic": subtopic, "message": {"response": {
                "success": True}}}
            return replace(exchange, frames=[json.dumps(reply)])
        return exchange

    service.handle = lenient  # type: ignore[method-assign]
    with serving(loop, running_service(service)) as url:
        [result] = run(new_session(loop, url), "property.SkipNonPEWCContact.invalid-requests")
    assert result.verdict in (Verdict.PASS, Verdict.INFORMATIONAL), result.detail
    assert not any(c.verdict is Verdict.FAIL for c in result.checks)


def test_a_silent_target_fails_once_then_every_run_stops_at_once(loop: asyncio.AbstractEventLoop) -> None:
    started = time.monotonic()
    with serving(loop, FaultyTarget(fault="hang")) as url:
        results = run(new_session(loop, url))
    assert time.monotonic() - started < 10 * RESPONSE_TIMEOUT + 5
    assert results[0].verdict is Verdict.FAIL
    stopped = [r for r in results if r.not_run]
    assert len(stopped) >= len(results) - 2 and "stopped answering" in stopped[-1].not_run


def test_apis_the_target_does_not_offer_are_unimplemented(loop: asyncio.AbstractEventLoop) -> None:
    with serving(loop, running_server(cm_version=2400)) as url:
        withdrawn = run(new_session(loop, url), "property.SkipNonPEWCContact.valid-requests")
        by_profile = run(new_session(loop, url, campaign_manager_version=2400),
                         "property.SkipNonPEWCContact.invalid-requests")
    assert [r.verdict for r in withdrawn + by_profile] == [Verdict.UNIMPLEMENTED] * 2
    assert "SkipNonPEWCContact" in by_profile[0].not_run and "2308" in withdrawn[0].not_run


# ------------------------------------------------------------- frames, plans, CLI


@pytest.mark.parametrize(("frame", "kind", "basis"), [
    ("not json {", "odd", "inferred"),
    ({"channel": "LCM", "topic": "Webservice", "subtopic": "ManualDialCall", "source": "s",
      "data": {"PhoneNumber": "+12345678900"}}, "valid", "documented"),
    ({"channel": "LCM", "topic": "Webservice", "subtopic": "ManualDialCall", "source": "s", "data": {}},
     "invalid", "documented"),
    ({"channel": "LCM", "topic": "Webservice", "subtopic": "ManualDialCall", "source": "s",
      "data": {"PhoneNumber": 12345}}, "odd", "inferred"),  # coerce or refuse: the pages do not say
    ({"channel": "LCM", "topic": "Webservice", "subtopic": "ManualDialCall", "source": "s",
      "data": {"PhoneNumber": "not a phone"}}, "odd", "inferred"),
    ({"channel": "LCM", "topic": "Webservice", "subtopic": "Undocumented", "source": "s",
      "data": {"PhoneNumber": "+12345678900"}}, "odd", "inferred"),
    ({"channel": "LCM", "topic": "Webservice", "subtopic": "ManualDialCall", "source": "s",
      "data": {"PhoneNumber": "+12345678900", "pad": "x" * frames.LARGE}}, "odd", "inferred"),
])
def test_frames_are_judged_as_the_example_cases_judge_them(frame: Any, kind: str, basis: str) -> None:
    expected = frames.expectation(MDC, frame)
    assert (expected.kind, expected.basis) == (kind, basis)
    step, _ = frames.judged_step(MDC, frame)
    assert step.expect == ("response" if kind == "valid" else "reply")


def test_a_valid_request_with_exotic_values_only_has_to_get_a_reply() -> None:
    frame = {"channel": "LCM", "topic": "Webservice", "subtopic": "SkipNonPEWCContact", "source": "s",
             "data": {"UserId": "\U0001f600" * 3}}
    step, expected = frames.judged_step(SPEC.api("SkipNonPEWCContact"), frame, robust=True)
    assert (expected.kind, expected.basis, step.expect, step.checks) == ("odd", "inferred", "reply", ("answered",))


def test_profiles_bound_the_search_keep_nothing_unasked_and_repeat_themselves(tmp_path: Path) -> None:
    quick = hypothesis_settings(PLANS["quick"], None)
    assert quick.database is None and quick.derandomize
    searching = hypothesis_settings(PLANS["quick"], tmp_path)
    assert isinstance(searching.database, DirectoryBasedExampleDatabase) and not searching.derandomize
    ci = hypothesis_settings(PLANS["ci"], tmp_path)
    assert ci.database is None and ci.derandomize
    for p in PLANS.values():
        assert hypothesis_settings(p, None, max_examples=3).max_examples == 3
    assert PLANS["thorough"].examples["valid-requests"] > PLANS["quick"].examples["valid-requests"]


def test_run_selects_property_runs_by_id_and_can_turn_them_off(tmp_path: Path) -> None:
    assert main(["run", "--quiet", "--case", "property.ManualDialCall.*", "--report-dir", str(tmp_path)]) == 0
    ids = [r["id"] for r in json.loads((tmp_path / "results.json").read_text())["results"]]
    assert ids == [f"property.ManualDialCall.{k}" for k in KINDS]
    assert main(["run", "--quiet", "--api", "ManualDialCall", "--hypothesis-profile", "off",
                 "--report-dir", str(tmp_path)]) == 0
    ids = [r["id"] for r in json.loads((tmp_path / "results.json").read_text())["results"]]
    assert ids and not any(i.startswith(("property.", "stateful.")) for i in ids)
    assert main(["run", "--quiet", "--case", str(tmp_path / "no-such-case.yaml")]) == 2
    with pytest.raises(UsageError, match="quick"):
        plan_run(SPEC, RunOptions(hypothesis_profile="loud"))


def test_the_pytest_plugin_runs_a_property_as_an_item_and_prints_its_case_file(
        loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    def wrong_type(message: dict[str, Any]) -> None:
        message["data"] = "not an object"

    service = rewriting(build_service(dialect="tables"), MDC.response_subtopic, wrong_type)
    with serving(loop, running_service(service)) as url:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", str(data_dir("cases")), "-q", "-p", "no:cacheprovider",
             "-k", "ManualDialCall and valid-requests", "--lcm-target", url, "--lcm-hypothesis-profile", "ci",
             "--lcm-report-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=60, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "property.ManualDialCall.valid-requests" in done.stdout
    assert "the shrunk failing example, as a case file" in done.stdout
    assert (tmp_path / "property.ManualDialCall.valid-requests.yaml").is_file()
