"""The serve command in a child process: the listening line, logs, clean stops, exit codes."""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml
from websockets.sync.client import connect

from server_helpers import TIMEOUT, api_by_op, sample_request

# The command module on its own, as cli.main would call it.
SERVE = (
    "import argparse, sys; from conformance.commands import serve; "
    "p = argparse.ArgumentParser(); serve.add_arguments(p); sys.exit(serve.run(p.parse_args(sys.argv[1:])))"
)
STARTUP = 20.0
MDC = api_by_op("dial")


def first_line(stream, timeout: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise TimeoutError(f"no output within {timeout} s")
    return stream.readline()


@contextmanager
def serve(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = first_line(proc.stdout, STARTUP)
        assert line.startswith("listening ws://127.0.0.1:") and line.endswith("/\n"), line
        yield proc, line.split()[1]
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=TIMEOUT)


def exchange(url: str) -> dict:
    with connect(url, open_timeout=TIMEOUT) as ws:
        ws.send(json.dumps(sample_request(MDC)))
        return json.loads(ws.recv(timeout=TIMEOUT))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_the_listening_line_serves_and_stops_cleanly(signum):
    with serve("--port", "0", "--dialect", "samples") as (proc, url):
        assert exchange(url) == MDC.sample_responses[0].message
        proc.send_signal(signum)
        assert proc.wait(TIMEOUT) == 0
        log = proc.stderr.read()
    [line] = [entry for entry in log.splitlines() if f" {MDC.name} ok " in entry]
    assert line.endswith(" ms")


def test_quiet_serve_logs_nothing_per_request():
    with serve("--quiet", "--dialect", "tables", "--cm-version", "2309") as (proc, url):
        assert exchange(url)["topic"] == MDC.response_envelope["topic"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(TIMEOUT) == 0
        assert proc.stderr.read() == ""


def run_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SERVE, *args], capture_output=True, text=True, timeout=STARTUP)


def test_a_bad_seed_exits_2_with_the_reason(tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text("agents: [a]\ncontacts: [{ContactID: 1}]\n", encoding="utf-8")
    done = run_command("--seed", str(seed))
    assert done.returncode == 2 and "is missing" in done.stderr and "listening" not in done.stdout


def test_bad_limits_exit_2():
    assert run_command("--max-connections", "0").returncode == 2


def test_print_seed_prints_the_default_seed_as_yaml():
    done = run_command("--print-seed")
    assert done.returncode == 0
    assert set(yaml.safe_load(done.stdout)) == {"agents", "outcomes", "contacts", "calls"}
