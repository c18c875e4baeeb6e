"""Nothing written unasked: a run, under the CLI or pytest, leaves the working directory
as it found it (no ``.hypothesis/``) unless ``--hypothesis-db`` asks for a directory.

Hypothesis keeps its caches (the Unicode table, constants read from local source files)
and, by default, an example database in ``./.hypothesis``; the runs subprocess in an
empty temporary directory, as a user would. (tests/test_packaging.py runs the whole suite
under pytest from the installed wheel, and checks the same.)
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


@pytest.fixture(scope="module")
def reference() -> Iterator[str]:
    with background_server() as url:
        yield url


def cli_in(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``lcm-conformance run ARGS --quiet`` in ``cwd``, against the embedded reference server."""
    return subprocess.run([sys.executable, "-m", "conformance", "run", *args, "--quiet"], cwd=cwd,
                          capture_output=True, text=True, timeout=BOUND, env={**clean_env(), **env}, check=False)


def test_a_run_with_the_quick_profile_writes_nothing(tmp_path: Path) -> None:
    done = cli_in(tmp_path, "--hypothesis-profile", "quick")
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []
    # The same kind of run told to keep Hypothesis' storage here does write it: the check can fail.
    done = cli_in(tmp_path, "--case", "property.ManualDialCall.valid-requests", HYPOTHESIS_STORAGE_DIRECTORY=".h")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p.name for p in tmp_path.iterdir()] == [".h"]


def test_the_plugin_writes_nothing(tmp_path: Path, reference: str) -> None:
    done = pytest_in(tmp_path, "--lcm-target", reference, "-k", "ManualDialCall and valid-requests and not invalid",
                     "-p", "no:cacheprovider")
    assert done.returncode == 0 and "1 non-strict" in done.stdout, done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_projects_own_property_tests_keep_no_database_and_no_cache_here() -> None:
    # The root conftest's doing: the tests' @given have no example database, and Hypothesis'
    # storage is a temporary directory, not ./.hypothesis.
    assert settings.default.database is None
    assert not storage_directory("examples", intent_to_write=False).path.is_relative_to(Path.cwd())
