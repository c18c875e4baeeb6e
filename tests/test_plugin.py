"""The pytest plugin as a user meets it: the summary line counts the verdicts the way the
reports do, and a target with no path runs the installed suite from any directory.

Each run is a pytest subprocess in a temporary directory against a loopback target, with
the property runs off (they are items like the cases; tests/test_properties.py runs one).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conformance import plugin
from conformance.mutants import select
from conformance.mutants.serving import running_target
from conformance.paths import data_dir
from conformance.results import Verdict
from conformance.server import in_background, running_server

BOUND = 60.0
SUMMARY = re.compile(r"^=* ?((?:\d+ [a-z -]+?)(?:, \d+ [a-z -]+?)*) in [\d.]+s")
"""pytest's last line: ``==== 4 passed, 59 non-strict, 2 not run in 1.2s ====``."""
SUMMARY_KEYS = {"passed": "pass", "non-strict": "non_strict", "informational": "informational",
                "not run": "not_run", "unimplemented": "unimplemented", "failed": "fail", "errors": "error",
                "error": "error"}
"""pytest's word in the summary line -> the key of the same count in results.json's summary."""
DEFAULTS: dict[str, Any] = {
    "lcm_target": None, "lcm_profile": None, "lcm_strict": False, "lcm_expectations": None, "lcm_dialect": "samples",
    "lcm_hypothesis_profile": "off", "lcm_hypothesis_db": None, "lcm_report_dir": None, "lcm_jobs": plugin.DEFAULT_JOBS}
"""The plugin's options as a session without any ``--lcm-…`` sees them."""


def clean_env() -> dict[str, str]:
    """The environment of a user who set nothing of ours or Hypothesis'."""
    drop = {"HYPOTHESIS_STORAGE_DIRECTORY", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "NO_COLOR": "1"}


def pytest_in(cwd: Path, *args: str, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    """``python -m pytest ARGS`` run in ``cwd``."""
    return subprocess.run([python, "-m", "pytest", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=BOUND, env=clean_env(), check=False)


def summary_counts(stdout: str) -> dict[str, int]:
    """The counts of pytest's summary line, keyed like results.json's summary."""
    for line in reversed(stdout.splitlines()):
        if match := SUMMARY.match(line):
            counts: dict[str, int] = {}
            for part in match.group(1).split(", "):
                number, word = part.split(" ", 1)
                counts[SUMMARY_KEYS[word]] = int(number)
            return counts
    raise AssertionError(f"no summary line in:\n{stdout}")


def reported_counts(report_dir: Path) -> dict[str, int]:
    """results.json's summary without zeros and the total."""
    summary = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))["summary"]
    return {k: n for k, n in summary.items() if n and k != "total"}


def test_the_summary_line_counts_each_verdict_as_the_reports_do(tmp_path: Path) -> None:
    # A mutant answering with the topic in lower case FAILs cases; the samples dialect makes
    # others NON-STRICT; one agent leaves the two-agent case NOT RUN; Campaign Manager 2309
    # no longer has SkipNonPEWCContact (UNIMPLEMENTED).
    mutant = select(["envelope.topic-lowercase"])[0]
    with in_background(lambda: running_target(mutant, cm_version=2309)) as url:
        profile = tmp_path / "profile.yaml"
        profile.write_text(f"url: {url}\nagents: [testagent]\ncampaign_manager_version: 2309\n"
                           "timeouts: {response: 2, connect: 2}\n", encoding="utf-8")
        done = pytest_in(tmp_path, "--lcm-profile", str(profile), "--lcm-hypothesis-profile", "off", "-v",
                         "--lcm-report-dir", str(tmp_path / "reports"), "-p", "no:cacheprovider")
    assert done.returncode == 1, done.stdout + done.stderr
    counts = summary_counts(done.stdout)
    assert counts == reported_counts(tmp_path / "reports"), done.stdout
    assert {"pass", "non_strict", "not_run", "fail"} <= counts.keys(), counts
    items = [line.split() for line in done.stdout.splitlines() if re.match(r"\S+\.yaml::", line)]  # -v lines
    assert {words[1] for words in items} >= {"PASSED", "NON-STRICT", "NOT", "FAILED"}, done.stdout  # NOT RUN
    # No path given: the installed suite's case files, from a directory outside the clone.
    assert {words[0].split("::")[0] for words in items} == {p.name for p in data_dir("cases").glob("*.yaml")}


def report(outcome: str, counted_as: str | None, *, when: str = "call", **extra: Any) -> pytest.TestReport:
    """The report of an item counted in ``counted_as`` (None: not an item of ours)."""
    props = [("api", "ManualDialCall")] + ([("counted_as", counted_as)] if counted_as else [])
    rep = pytest.TestReport("cases/03-calls.yaml::MDC.x", ("cases/03-calls.yaml", 0, "MDC.x"), {}, outcome,
                            None, when, user_properties=props)
    for key, value in extra.items():
        setattr(rep, key, value)
    return rep


@pytest.mark.parametrize(("rep", "shown"), [
    (report("passed", Verdict.NON_STRICT.value), ("non-strict", "N", "NON-STRICT")),
    (report("passed", Verdict.INFORMATIONAL.value), ("informational", "I", "INFORMATIONAL")),
    (report("skipped", Verdict.UNIMPLEMENTED.value), ("unimplemented", "U", "UNIMPLEMENTED")),
    (report("skipped", "not_run"), ("not run", "s", "NOT RUN")),
    (report("failed", Verdict.ERROR.value), ("error", "E", "ERROR")),
])
def test_each_verdict_has_its_own_category_letter_and_word(rep: pytest.TestReport,
                                                             shown: tuple[str, str, str]) -> None:
    status = plugin.pytest_report_teststatus(rep, None)  # type: ignore[arg-type]  # the config is unused
    assert status is not None
    assert (status[0], status[1], status[2][0]) == shown


@pytest.mark.parametrize("rep", [
    report("passed", Verdict.PASS.value),
    report("failed", Verdict.FAIL.value),
    report("failed", Verdict.NON_STRICT.value),  # under --lcm-strict
    report("failed", Verdict.PASS.value),  # expected another verdict
    report("skipped", Verdict.FAIL.value, wasxfail="expected FAIL"),
    report("passed", None),  # another plugin's or project's test
    report("passed", Verdict.NON_STRICT.value, when="setup"),
])
def test_pass_fail_xfail_and_other_tests_stay_pytests_own(rep: pytest.TestReport) -> None:
    assert plugin.pytest_report_teststatus(rep, None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(("source", "options", "installed"), [
    (pytest.Config.ArgsSource.INVOCATION_DIR, {"lcm_target": "ws://127.0.0.1:1/"}, True),
    (pytest.Config.ArgsSource.TESTPATHS, {"lcm_profile": "profile.yaml"}, True),
    (pytest.Config.ArgsSource.ARGS, {"lcm_target": "ws://127.0.0.1:1/"}, False),  # a path given: that path
    (pytest.Config.ArgsSource.INVOCATION_DIR, {}, False),  # no target: pytest as ever
])
def test_a_target_and_no_path_collect_the_installed_cases(tmp_path: Path, source: pytest.Config.ArgsSource,
                                                          options: dict[str, str], installed: bool) -> None:
    (tmp_path / "profile.yaml").write_text("url: ws://127.0.0.1:1/\n", encoding="utf-8")
    given = {k: tmp_path / v if k == "lcm_profile" else v for k, v in options.items()}
    config = SimpleNamespace(getoption={**DEFAULTS, **given}.__getitem__, stash=pytest.Stash(), args_source=source,
                             args=[str(tmp_path)])
    plugin.pytest_configure(config)  # type: ignore[arg-type]
    assert config.args == [str(data_dir("cases")) if installed else str(tmp_path)]


def test_an_expected_failure_is_an_xfail_that_gives_the_files_reason() -> None:
    from conformance.expectations import Expectations
    from conformance.results import CaseResult

    expected = Expectations({"MDC.x": Verdict.FAIL}, {"MDC.x": "vendor ticket 42"})
    for verdict, outcome in ((Verdict.FAIL, pytest.xfail.Exception), (Verdict.PASS, plugin.CaseFailed)):
        result = CaseResult("MDC.x", "t", "ManualDialCall", (), "doc", "documented", verdict, "detail")
        state = SimpleNamespace(results=[], expected=expected, options=SimpleNamespace(strict=False),
                                result=lambda item, result=result: result)
        item = SimpleNamespace(config=SimpleNamespace(stash={plugin._KEY: state}), name="MDC.x",
                               user_properties=[])
        with pytest.raises(outcome, match=r"expected FAIL \(vendor ticket 42\)"):
            plugin._ResultItem.runtest(item)  # type: ignore[arg-type]


def plugin_state(tmp_path: Path, **options: Any) -> plugin._State:
    """The plugin's session state for these ``--lcm-…`` options (the rest at their defaults)."""
    config = SimpleNamespace(getoption={**DEFAULTS, **options}.__getitem__)
    return plugin._State(config)  # type: ignore[arg-type]


def test_a_bad_target_profile_or_expectations_file_is_a_usage_error_before_anything_is_sent(tmp_path: Path) -> None:
    (tmp_path / "profile.yaml").write_text("url: ws://127.0.0.1:1/\nfixtures: {call: 1}\n", encoding="utf-8")
    (tmp_path / "expected.yaml").write_text("MDC.no-such-case: FAIL\n", encoding="utf-8")
    for options, named in (({"lcm_target": "http://127.0.0.1:1/"}, "ws:// or wss://"),
                           ({"lcm_profile": tmp_path / "profile.yaml"}, "fixtures"),
                           ({"lcm_target": "ws://127.0.0.1:1/", "lcm_expectations": tmp_path / "expected.yaml"},
                            "MDC.no-such-case")):
        with pytest.raises(pytest.UsageError, match=re.escape(named)):
            plugin_state(tmp_path, **options)


def test_an_unreachable_target_stops_the_session_once_with_the_clis_exit_code(tmp_path: Path) -> None:
    state = plugin_state(tmp_path, lcm_target="ws://127.0.0.1:1/")
    with pytest.raises(pytest.exit.Exception, match="unreachable") as stopped:
        state.target  # noqa: B018 -- the first item to run asks for the target
    assert stopped.value.returncode == 3


def item_verdicts(stdout: str) -> dict[str, str]:
    """Each item's word under ``-v`` (PASSED, NON-STRICT, NOT, ...), by case id."""
    found = (re.match(r"\S*::(\S+) (\S+)", line) for line in stdout.splitlines())
    return {m.group(1): m.group(2) for m in found if m}


def test_lcm_jobs_runs_items_at_once_with_the_verdicts_of_one_at_a_time(tmp_path: Path) -> None:
    # The tables dialect, so PASS and NON-STRICT both occur; one property run is an item too.
    with in_background(lambda: running_server(dialect="tables")) as url:
        runs = {jobs: pytest_in(tmp_path, "--lcm-target", url, "--lcm-jobs", jobs, "-v", "-p", "no:cacheprovider",
                                "-k", "not stateful and not property or SkipManualDialContact.valid")
                for jobs in ("1", str(plugin.DEFAULT_JOBS))}
    one, many = (item_verdicts(done.stdout) for done in runs.values())
    assert len(one) > 50 and "property.SkipManualDialContact.valid-requests" in one, runs["1"].stdout
    assert one == many
    assert all(done.returncode == 0 for done in runs.values()), [d.stdout[-2000:] for d in runs.values()]


def test_lcm_jobs_below_one_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(pytest.UsageError, match="--lcm-jobs"):
        plugin_state(tmp_path, lcm_target="ws://127.0.0.1:1/", lcm_jobs=0)


def test_a_scheduled_run_that_breaks_is_an_error_for_every_item_and_is_not_started_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    starts = []

    async def broken_plan(*args: Any, **kwargs: Any) -> list[Any]:
        starts.append(args)
        raise RuntimeError("boom")

    monkeypatch.setattr(plugin, "run_plan", broken_plan)
    with in_background(lambda: running_server()) as url:
        state = plugin_state(tmp_path, lcm_target=url)
        try:
            items = [SimpleNamespace(name=name, session=SimpleNamespace(items=[]),
                                     broken_result=lambda why, name=name: plugin._ResultItem.broken_result(
                                         SimpleNamespace(name=name, api="ManualDialCall"), why))  # type: ignore[arg-type]
                     for name in ("MDC.a", "MDC.b")]
            results = [state.result(item) for item in items]  # type: ignore[arg-type]
        finally:
            state.close()
    assert len(starts) == 1
    assert [r.verdict for r in results] == [Verdict.ERROR, Verdict.ERROR]
    assert all("RuntimeError: boom" in r.detail for r in results)
