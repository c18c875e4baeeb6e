"""After a plain ``pip install`` of the wheel, the README's pytest command runs the whole
suite from any directory.

The wheel is built from this source tree (no network when hatchling is installed, else
pip fetches it from the package index, as ``pip install -e .`` did) and installed into a
fresh virtual environment without its dependencies, which it borrows from this one
through a ``.pth`` file written after the install, so nothing is downloaded for them and
the installed ``conformance`` is the wheel's, not this checkout's.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conformance.server import background_server
from test_plugin import clean_env, pytest_in, reported_counts, summary_counts

BOUND = 120.0
ROOT = Path(__file__).resolve().parent.parent


def run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=BOUND,
                          env=clean_env(), check=False)
    assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    return done.stdout


def build_wheel(out: Path) -> Path:
    offline = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", *offline, "--quiet", "--wheel-dir", out, ROOT)
    (wheel,) = out.glob("lcm_conformance-*.whl")
    return wheel


def fresh_venv(where: Path, wheel: Path) -> Path:
    """A new environment holding the wheel; its dependencies are this environment's."""
    run(sys.executable, "-m", "venv", "--without-pip", where)
    python = where / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=where).strip())
    ours = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    (site / "borrowed-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    return python


@pytest.mark.slow
def test_the_installed_wheel_runs_the_suite_under_pytest_from_any_directory(tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv", build_wheel(tmp_path / "dist"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cases = run(python, "-c", "from conformance.paths import data_dir; print(data_dir('cases'))", cwd=elsewhere)
    assert Path(cases.strip()).is_relative_to(tmp_path / "venv"), cases  # the wheel's cases, not the checkout's
    with background_server() as url:
        done = pytest_in(elsewhere, "--lcm-target", url, "--lcm-report-dir", "reports", python=str(python))
    assert done.returncode == 0, done.stdout + done.stderr
    counts = summary_counts(done.stdout)
    assert counts == reported_counts(elsewhere / "reports"), done.stdout
    assert sum(counts.values()) > 80 and counts["non_strict"] > 0, counts  # the cases and the property runs
    # Nothing written unasked: the reports asked for, and pytest's own cache.
    assert {p.name for p in elsewhere.iterdir()} <= {"reports", ".pytest_cache"}
