"""The harness every ROS test, benchmark and the demo rely on, and the CLI surface."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training.cli import COMMANDS, main
from training.ros_launch import NodeProcess, discovery_env
from training.ros_launch.environment import in_private_netns, isolation_problem

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_discovery_env_confines_dds_to_localhost(tmp_path: Path) -> None:
    env = discovery_env(tmp_path, base={"ROS_LOCALHOST_ONLY": "1", "PATH": "/bin"})
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert 1 <= int(env["ROS_DOMAIN_ID"]) <= 101
    assert env["ROS_LOG_DIR"] == str(tmp_path)
    assert "ROS_LOCALHOST_ONLY" not in env
    assert "FASTDDS_BUILTIN_TRANSPORTS" not in env
    assert discovery_env(tmp_path, large_data=True, base={})["FASTDDS_BUILTIN_TRANSPORTS"] == "LARGE_DATA"


def test_isolation_is_reported_consistently() -> None:
    assert (isolation_problem() is None) == in_private_netns()


def test_node_process_is_killed_even_when_it_ignores_sigint(tmp_path: Path) -> None:
    (tmp_path / "stubborn.py").write_text(
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    env = discovery_env(tmp_path, base={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    proc = NodeProcess("stubborn", env=env)
    with proc:
        assert proc.wait_for_output("ready", timeout=10)
        started = time.monotonic()
    assert not proc.alive()
    assert proc.proc.returncode != 0
    assert time.monotonic() - started < 15


def test_cli_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("train", "evaluate", "export", "deploy", "benchmark", "demo"):
        assert name in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_module_has_the_command_interface(name: str) -> None:
    module = importlib.import_module(COMMANDS[name][0])
    assert callable(module.add_arguments) and callable(module.run)


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    assert "scripts/test.sh" in ci
    assert "bash scripts/test.sh" in readme and "bash scripts/demo.sh" in readme


def test_entry_point_runs_as_a_program() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "training.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "asymlearn" in out
