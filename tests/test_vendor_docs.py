"""docs/testing-your-endpoint.md and examples/ci/ stay true: the workflow parses and uses
only commands and options the CLI has, every profile key the page names is in the
profile schema, the example profile and expectations file are valid, and the page's
commands run."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft202012Validator

from conformance import plugin
from conformance.cases import load_cases
from conformance.cli import command_names, main
from conformance.expectations import parse, read, unknown_ids
from conformance.hypo import suite
from conformance.profile import SCHEMA_PATH, load_profile
from conformance.results import Verdict
from conformance.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "testing-your-endpoint.md"
CI = ROOT / "examples" / "ci"
WORKFLOW = CI / "github-actions.yml"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
IDENTIFIER = re.compile(r"[a-z_]+(?:\.[a-z_]+)*")


# ---------------------------------------------------------------------- commands and options


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def commands(script: str) -> Iterator[list[str]]:
    """Each suite command a shell script runs: ``lcm-conformance ...`` and ``python -m pytest ...``."""
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        for start, word in enumerate(words):
            if word == "lcm-conformance" or words[start:start + 3] == ["python", "-m", "pytest"]:
                yield words[start:]
                break


def cli_options(command: str, capsys: pytest.CaptureFixture[str]) -> set[str]:
    """The options ``lcm-conformance COMMAND --help`` lists."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", capsys.readouterr().out))


def plugin_options() -> set[str]:
    seen: set[str] = set()

    class Group:
        def addoption(self, *names: str, **_: Any) -> None:
            seen.update(names)

    class Parser:
        def getgroup(self, *_: Any, **__: Any) -> Group:
            return Group()

    plugin.pytest_addoption(Parser())  # type: ignore[arg-type]
    return seen


def unknown_options(words: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The options of one command that the suite does not have (the command itself, if unknown)."""
    used = [w.split("=")[0] for w in words if w.startswith("--")]
    if words[0] == "python":  # python -m pytest: only the plugin's options are ours
        return [o for o in used if o.startswith("--lcm-") and o not in plugin_options()]
    if words[1] not in command_names():
        return [words[1]]
    known = cli_options(words[1], capsys)
    return [o for o in used if o not in known]


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def test_the_workflow_parses_runs_the_suite_with_existing_options_and_keeps_the_reports(
        capsys: pytest.CaptureFixture[str]) -> None:
    doc = workflow()
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    (job,) = doc["jobs"].values()
    (service,) = job["services"].values()
    assert service["image"] and service["ports"]
    steps = job["steps"]
    runs = [words for step in steps if "run" in step for words in commands(step["run"])]
    assert runs and all(words[:2] == ["lcm-conformance", "run"] for words in runs), runs
    for words in runs:
        assert unknown_options(words, capsys) == [], words
    (words,) = runs
    option = dict(zip(words[2::2], words[3::2], strict=False))
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()" and upload["with"]["path"].rstrip("/") == option["--report-dir"]
    # The files the run reads are the examples beside the workflow, copied to ci/.
    assert Path(option["--profile"]).name == "lcm-profile.yaml" and (CI / "lcm-profile.yaml").is_file()
    assert Path(option["--expectations"]).name == "lcm-expectations.yaml"
    # The profile points where the service is published, and the wait step waits there.
    port = urlsplit(load_profile(CI / "lcm-profile.yaml", env={"LCM_TOKEN": "t"}).url).port
    assert any(str(p).split(":")[0] == str(port) for p in service["ports"])
    assert any(f"/dev/tcp/127.0.0.1/{port}" in s.get("run", "") for s in steps)


def test_every_command_the_page_shows_exists(capsys: pytest.CaptureFixture[str]) -> None:
    shown = [words for block in code_blocks(DOC.read_text(encoding="utf-8"), "sh") for words in commands(block)]
    assert len(shown) >= 5
    for words in shown:
        assert unknown_options(words, capsys) == [], words


def test_an_option_or_command_the_cli_lacks_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    assert unknown_options(["lcm-conformance", "run", "--profiel", "p.yaml"], capsys) == ["--profiel"]
    assert unknown_options(["lcm-conformance", "runn"], capsys) == ["runn"]
    assert unknown_options(["python", "-m", "pytest", "--lcm-profiel", "p.yaml", "-q"], capsys) == ["--lcm-profiel"]


# ---------------------------------------------------------------------- profile keys


def in_schema(key: str) -> bool:
    node: dict[str, Any] = SCHEMA
    for part in key.split("."):
        properties = node.get("properties", {})
        if part not in properties:
            return False
        node = properties[part]
    return True


def profile_keys_named(text: str) -> list[str]:
    """The profile keys a page names: every key-like token in backticks in its profile section
    and in the "profile key" column of its table, and elsewhere every dotted one under a
    key of the schema (``fixtures.call_id``)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # the profile in a code block is validated whole
    chosen = text.split("## 2. The target profile", 1)[1].split("\n## ", 1)[0]
    for line in text.splitlines():
        cells = line.split("|")
        if line.startswith("| ") and len(cells) > 3 and "profile key" not in line:
            chosen += "\n" + cells[2]
    named = [t for t in re.findall(r"`([^`]+)`", chosen) if IDENTIFIER.fullmatch(t)]
    heads = {k for k, v in SCHEMA["properties"].items() if "properties" in v}
    named += [t for t in re.findall(r"`([a-z_]+\.[a-z_.]+)`", text) if t.split(".")[0] in heads]
    return named


def test_every_profile_key_the_page_names_is_in_the_profile_schema() -> None:
    named = profile_keys_named(DOC.read_text(encoding="utf-8"))
    assert {"agents", "headers", "fixtures.call_id", "fixtures.phone_number", "timeouts.response",
            "campaign_manager_version", "apis"} <= set(named)
    assert [key for key in named if not in_schema(key)] == []


def test_a_key_the_schema_lacks_is_caught() -> None:
    text = ("| what | profile key | does |\n|---|---|---|\n| a campaign | `campaign` | x |\n"
            "## 2. The target profile\n\n- `agent`: one id.\n\n## 3. Next\n`fixtures.campaign_id` and `results.json`")
    named = profile_keys_named(text)
    assert sorted(key for key in named if not in_schema(key)) == ["agent", "campaign", "fixtures.campaign_id"]


def test_the_pages_profile_and_the_ci_profile_follow_the_schema() -> None:
    validator = Draft202012Validator(SCHEMA)
    profiles = [yaml.safe_load(b) for b in code_blocks(DOC.read_text(encoding="utf-8"), "yaml")]
    profiles = [p for p in profiles if "url" in p]
    assert profiles
    for profile in [*profiles, yaml.safe_load((CI / "lcm-profile.yaml").read_text(encoding="utf-8"))]:
        assert [e.message for e in validator.iter_errors(profile)] == []
    loaded = load_profile(CI / "lcm-profile.yaml", env={"LCM_TOKEN": "secret"})
    assert loaded.second_agent and loaded.secrets == {"secret"}


# ---------------------------------------------------------------------- expectations


def known_ids() -> set[str]:
    spec = load_spec()
    return {c.id for c in load_cases(spec)} | {r.id for r in suite.all_runs(spec)}


def test_the_example_expectations_name_real_cases_and_give_reasons() -> None:
    expected = read(CI / "lcm-expectations.yaml")
    assert expected and unknown_ids(expected, known_ids()) == []
    assert Verdict.FAIL in expected.values() and expected.reasons
    page = [parse(yaml.safe_load(b), "page") for b in code_blocks(DOC.read_text(encoding="utf-8"), "yaml")
            if "url" not in yaml.safe_load(b)]
    assert page and all(unknown_ids(e, known_ids()) == [] for e in page)


def test_the_pages_one_liner_writes_an_expectations_file_of_the_failures(tmp_path: Path) -> None:
    (line,) = [c for c in re.findall(r"^python -c .*$", DOC.read_text(encoding="utf-8"), flags=re.M)]
    (tmp_path / "reports").mkdir()
    results = [{"id": "SCOC.error.unknown-callid", "verdict": "fail"}, {"id": "MDC.echo.page", "verdict": "pass"}]
    (tmp_path / "reports" / "results.json").write_text(json.dumps({"results": results}), encoding="utf-8")
    done = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, done.stderr
    expected = read(tmp_path / "expected.yaml")
    assert expected == {"SCOC.error.unknown-callid": Verdict.FAIL}
    assert expected.reasons == {"SCOC.error.unknown-callid": "TODO"}
