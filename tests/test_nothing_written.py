"""Nothing written unasked: a run, under the CLI or pytest, leaves the working directory
as it found it (no ``.hypothesis/``) unless ``--hypothesis-db`` asks for a directory.

Hypothesis keeps its caches (the Unicode table, constants read from local source files)
and, by default, an example database in ``./.hypothesis``; the runs subprocess in an
empty temporary directory, as a user would.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import storage_directory

from conformance.server import background_server
from test_plugin import BOUND, clean_env, pytest_in

PLUGIN_RUN = ("-k", "ManualDialCall and valid-requests and not invalid", "-p", "no:cacheprovider")
"""One property run under the plugin (Hypothesis draws text and numbers)."""


@pytest.fixture(scope="module")
def reference() -> Iterator[str]:
    with background_server() as url:
        yield url


def test_a_run_with_the_quick_profile_writes_nothing(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "conformance", "run", "--hypothesis-profile", "quick", "--quiet"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=BOUND, env=clean_env(), check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "property." in done.stdout or "PASSED" in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_the_plugin_writes_nothing_unless_hypothesis_is_told_where(tmp_path: Path, reference: str) -> None:
    quiet, told = tmp_path / "quiet", tmp_path / "told"
    quiet.mkdir()
    told.mkdir()
    done = pytest_in(quiet, "--lcm-target", reference, *PLUGIN_RUN)
    assert done.returncode == 0 and "1 non-strict" in done.stdout, done.stdout + done.stderr
    assert list(quiet.iterdir()) == []
    # The same run told to keep Hypothesis' storage here does write it: the check above can fail.
    told_env = {**clean_env(), "HYPOTHESIS_STORAGE_DIRECTORY": ".hypothesis"}
    done = subprocess.run([sys.executable, "-m", "pytest", "--lcm-target", reference, *PLUGIN_RUN], cwd=told,
                          capture_output=True, text=True, timeout=BOUND, env=told_env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p.name for p in told.iterdir()] == [".hypothesis"]


def test_the_projects_own_property_tests_keep_no_database_and_no_cache_here() -> None:
    # The root conftest's doing: the tests' @given have no example database, and Hypothesis'
    # storage is a temporary directory, not ./.hypothesis.
    assert settings.default.database is None
    assert not storage_directory("examples", intent_to_write=False).path.is_relative_to(Path.cwd())
