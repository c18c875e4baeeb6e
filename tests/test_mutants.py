"""The suite's power, measured: the mutant catalogue, the correct variants, the driver.

CI runs the fast subset (one or more mutants per area, and the reference dialects and an
open choice as variants, then a handful of the foreign target's mutants and variants)
through the same parallel driver as ``lcm-conformance mutate``; the full run is
``lcm-conformance mutate`` (see bench/bench_mutants.py for its time). Both
implementations must have every mutant killed and no variant FAILed.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from conformance.checks import PROFILE_CREDENTIALS
from conformance.commands import mutants as mutants_command
from conformance.commands import mutate as mutate_command
from conformance.commands import serve as serve_command
from conformance.engine import credential_headers
from conformance.foreign.faults import FAULTS
from conformance.mutants import (
    AREAS,
    FOREIGN_MUTANTS,
    FOREIGN_VARIANTS,
    IMPLEMENTATIONS,
    MUTANTS,
    TARGETS,
    VARIANTS,
    Mutant,
    Variant,
    select,
)
from conformance.mutants.catalogue import FLOOD_FRAMES, LATE_SECONDS
from conformance.mutants.driver import (
    RESPONSE_TIMEOUT,
    Run,
    Score,
    Settings,
    mutation_profile,
    run_targets,
)
from conformance.mutants.report import render
from conformance.mutants.serving import running_target
from conformance.spec import load_spec
from conformance.transport import Connection

SPEC = load_spec()
REQUIREMENTS = {req for api in SPEC.apis.values() for req in api.requirement_ids()}
BOUND = 10.0
FAST_BOUND = 60.0
"""The fast subset takes a few seconds on 2 cores; this only stops a hung run."""


def command(module, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.run(parser.parse_args(list(argv)))


# --------------------------------------------------------------------------- catalogue


def test_the_catalogue_has_forty_faults_spread_over_every_area():
    assert len(MUTANTS) >= 40
    by_area = {area: [m for m in MUTANTS if m.area == area] for area in AREAS}
    assert all(by_area.values()), [area for area, found in by_area.items() if not found]
    assert {m.area for m in MUTANTS} == set(AREAS)
    assert len(TARGETS) == len(MUTANTS) + len(VARIANTS), "a variant and a mutant share a name"


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_each_mutant_names_the_doc_row_it_violates_in_one_line(mutant: Mutant):
    assert mutant.requirement in REQUIREMENTS or mutant.requirement == PROFILE_CREDENTIALS
    assert mutant.description and "\n" not in mutant.description and len(mutant.description) <= 110


def test_the_variants_cover_every_alternative_the_registry_allows_in_a_reply():
    alternatives = {
        (entry.id, effect.path.rsplit(".", 1)[1])
        for entry in SPEC.discrepancies.values()
        for effect in entry.effects
        if effect.path.startswith("response.") and effect.kind in ("value", "name", "shape")
    }
    derived = {(v.name.split(".")[1], v.name.split(".")[2].split("=")[0]) for v in VARIANTS
               if v.name.startswith("registry.")}
    assert alternatives and derived == alternatives


def test_the_slow_faults_are_slow_only_past_the_mutation_timeouts():
    assert LATE_SECONDS > RESPONSE_TIMEOUT
    assert inspect.signature(Connection).parameters["max_frames"].default < FLOOD_FRAMES


def test_the_fast_subset_has_every_area_and_a_variant_of_each_dialect():
    fast = select(fast=True)
    assert {m.area for m in fast if isinstance(m, Mutant) and m.implementation == "reference"} == set(AREAS)
    assert {"reference.samples", "reference.tables"} <= {t.name for t in fast}


def test_the_fast_subset_has_mutants_and_variants_of_both_implementations():
    fast = select(fast=True)
    for kind in (Mutant, Variant):
        assert {t.implementation for t in fast if isinstance(t, kind)} == set(IMPLEMENTATIONS), kind
    assert "foreign.variant.default" in {t.name for t in fast}


def test_the_foreign_target_has_a_mutant_per_fault_and_its_default_among_the_variants():
    assert len(FOREIGN_MUTANTS) >= 12 and len(FOREIGN_MUTANTS) == len(FAULTS)
    for mutant in FOREIGN_MUTANTS:
        assert mutant.implementation == "foreign" and mutant.area in AREAS
        assert mutant.name.startswith("foreign.") and mutant.foreign is not None
        assert mutant.foreign.faults == (mutant.name.removeprefix("foreign."),)
    assert all(v.name.startswith("foreign.variant.") and v.foreign is not None and not v.foreign.faults
               for v in FOREIGN_VARIANTS)
    assert "foreign.variant.default" in {v.name for v in FOREIGN_VARIANTS}
    assert {t.implementation for t in (*MUTANTS, *VARIANTS)} == set(IMPLEMENTATIONS)


# ------------------------------------------------------------------------------ driver


def test_the_fast_subset_kills_every_mutant_and_fails_no_variant():
    targets = select(fast=True)
    started = time.perf_counter()
    runs = run_targets(targets, jobs=2)
    assert time.perf_counter() - started < FAST_BOUND
    score = Score.of(targets, runs)
    assert not score.broken, {t.name: runs[t.name].error for t in score.broken}
    parts = score.implementations()
    assert list(parts) == list(IMPLEMENTATIONS)
    for name, part in parts.items():  # each implementation on its own: all killed, no false FAIL
        assert part.mutants and part.variants, name
        assert not part.survivors, (name, [m.name for m in part.survivors])
        assert not part.false_fails, (name, {v.name: runs[v.name].failed for v in part.false_fails})
        assert len(part.killed) == len(part.mutants), name
    assert score.exit_code() == 0
    assert runs["security.token-ignored"].failed[0][0] == "auth.without-credentials"
    shown = render(score, jobs=2, seconds=1.0)
    for name, part in parts.items():
        assert f"{name}: {len(part.mutants)}/{len(part.mutants)} mutants killed (100.0%)" in shown


def test_a_survivor_a_false_fail_or_a_broken_run_fails_the_mutation_run():
    mutant, variant = MUTANTS[0], VARIANTS[0]
    killed = {mutant.name: Run(mutant.name, failed=(("GRMDC.count", "at_most: …"),)), variant.name: Run(variant.name)}
    assert Score.of([mutant, variant], killed).exit_code() == 0
    for runs, shown in (
        ({**killed, mutant.name: Run(mutant.name)}, f"SURVIVED  {mutant.name}"),
        ({**killed, variant.name: Run(variant.name, failed=(("GRMDC.count", "why"),))}, f"FAIL      {variant.name}"),
        ({**killed, mutant.name: Run(mutant.name, error="TimeoutError: ")}, f"ERROR     {mutant.name}"),
    ):
        score = Score.of([mutant, variant], runs)
        assert score.exit_code() == 1
        assert shown in render(score, jobs=1, seconds=1.0)


def test_the_run_profile_declares_its_token_as_a_credential_and_the_version_offering_every_api():
    profile = mutation_profile("ws://127.0.0.1:1/", "t0ken", MUTANTS[0], Settings())
    assert credential_headers(profile) == ["Authorization"] and profile.secrets == {"t0ken"}
    assert profile.timeouts.response == RESPONSE_TIMEOUT
    assert set(profile.apis) == set(SPEC.apis)
    undeclared = mutation_profile("ws://127.0.0.1:1/", "t0ken", TARGETS["version.withdrawn-undeclared"], Settings())
    assert undeclared.campaign_manager_version is None


# ----------------------------------------------------------------------------- serving


async def _ask(url: str, message: dict, **options) -> dict:
    async with connect(url, open_timeout=BOUND, **options) as ws:
        await ws.send(json.dumps(message))
        async with asyncio.timeout(BOUND):
            return json.loads(await ws.recv())


def test_a_response_rewrite_changes_only_its_api():
    grmdc, mdc = SPEC.api("GetReservedManualDialContact"), SPEC.api("ManualDialCall")

    async def scenario():
        async with running_target(TARGETS["envelope.topic-lowercase"]) as url:
            return (await _ask(url, grmdc.sample_requests[0].message),
                    await _ask(url, mdc.sample_requests[0].message))

    changed, untouched = asyncio.run(asyncio.wait_for(scenario(), BOUND))
    assert changed["topic"] == "webservice"
    assert untouched == mdc.sample_responses[0].message


def test_a_foreign_target_is_served_with_its_fault_and_its_token():
    dial = SPEC.api("ManualDialCall").sample_requests[0].message

    async def scenario():
        async with running_target(TARGETS["foreign.echo.phone-dropped"], token="s3cret",
                                  agents=("ann", "bob")) as url:
            with pytest.raises(InvalidStatus):
                await _ask(url, dial)
            return await _ask_past_greetings(url, dial, additional_headers={"Authorization": "Bearer s3cret"})

    reply = asyncio.run(asyncio.wait_for(scenario(), BOUND))
    assert reply["subtopic"] == "ManualDialCall" and "PhoneNumber" not in reply["message"]["data"]


async def _ask_past_greetings(url: str, message: dict, **options) -> dict:
    """The answer to ``message``: frames on other subtopics (greetings, heartbeats) are skipped."""
    async with connect(url, open_timeout=BOUND, **options) as ws:
        await ws.send(json.dumps(message))
        async with asyncio.timeout(BOUND):
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("subtopic") == message["subtopic"]:
                    return frame


def test_a_transport_fault_crashes_the_server_and_a_token_fault_opens_the_gate():
    dial = SPEC.api("ManualDialCall").sample_requests[0].message

    async def scenario():
        async with running_target(TARGETS["robustness.crash-on-non-json"]) as url:
            async with connect(url, open_timeout=BOUND) as ws:
                await ws.send("not JSON {")
                async with asyncio.timeout(BOUND):
                    await ws.wait_closed()
            with pytest.raises(OSError):
                await _ask(url, dial)
        async with running_target(TARGETS["reference.samples"], token="s3cret") as url:
            with pytest.raises(InvalidStatus):
                await _ask(url, dial)
        async with running_target(TARGETS["security.token-ignored"], token="s3cret") as url:
            return await _ask(url, dial)

    assert asyncio.run(asyncio.wait_for(scenario(), BOUND))["subtopic"] == "ManualDialCall"


# ---------------------------------------------------------------------------- commands


def test_mutants_list_names_every_mutant_with_its_requirement_and_every_variant(capsys):
    assert command(mutants_command, "list") == 0
    out = capsys.readouterr().out
    assert f"{len(MUTANTS)} mutants" in out and f"{len(VARIANTS)} correct variants" in out
    for mutant in MUTANTS:
        line = next(line for line in out.splitlines() if f" {mutant.name} " in line)
        assert mutant.requirement in line and mutant.description in line
    assert all(v.name in out for v in VARIANTS)


def test_mutate_runs_the_named_targets_and_writes_the_kill_matrix(tmp_path: Path, capsys):
    code = command(mutate_command, "--jobs", "1", "--mutant", "state.over-delivery", "registry.D-09*",
                   "--report-dir", str(tmp_path))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "KILLED    state.over-delivery" in out and "PASS      registry.D-09" in out
    assert "score: reference: 1/1 mutants killed (100.0%), 1/1 variants without FAIL;" in out
    data = json.loads((tmp_path / "mutation.json").read_text(encoding="utf-8"))
    assert data["score"]["killed"] == 1 and data["mutants"][0]["cases"]
    header, *rows = (tmp_path / "kill-matrix.csv").read_text(encoding="utf-8").splitlines()
    column = header.split(",").index(data["mutants"][0]["cases"][0])
    assert rows[0].split(",")[column] == "X" and set(rows[1].split(",")[2:]) == {""}


def test_serve_runs_a_mutant_until_told_to_stop():
    grmdc = SPEC.api("GetReservedManualDialContact")
    serve = ("import argparse, sys; from conformance.commands import serve; p = argparse.ArgumentParser(); "
             "serve.add_arguments(p); sys.exit(serve.run(p.parse_args(sys.argv[1:])))")
    proc = subprocess.Popen([sys.executable, "-c", serve, "--mutant", "envelope.topic-lowercase", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            assert selector.select(BOUND), "no listening line"
        line = proc.stdout.readline()
        assert line.startswith("listening ws://127.0.0.1:"), line
        reply = asyncio.run(asyncio.wait_for(_ask(line.split()[1], grmdc.sample_requests[0].message), BOUND))
        assert reply["topic"] == "webservice"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(BOUND) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=BOUND)


@pytest.mark.parametrize("module", [mutate_command, serve_command])
def test_an_unknown_mutant_is_a_usage_error(module, capsys):
    assert command(module, "--mutant", "no.such-mutant") == 2
    assert "no.such-mutant" in capsys.readouterr().err


def test_a_case_the_suite_could_not_judge_breaks_the_target_s_run():
    """An ERROR is a bug of ours: a mutant or variant whose run holds one is no score."""
    variant = next(v for v in VARIANTS if v.name == "reference.tables")
    score = Score.of([variant], {variant.name: Run(variant.name, counts={"pass": 60, "error": 1})})
    assert score.broken == [variant] and score.exit_code() != 0
