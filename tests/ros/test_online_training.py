"""The online A2D trainer node over real bridge nodes: it learns, resumes after a kill, survives
a silent bridge, and ends exactly where the offline pipeline ends for the same seed."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from online_helpers import bridge, trainer

pytestmark = pytest.mark.ros

# 8 copies x 64 steps per iteration. A2D lifts the deterministic return from -200 by iteration 8
# on the Intel Xeon (AMX) of sessions 1-10 and by iteration 9 on an AMD EPYC (session 11): the
# float path differs between CPUs, so 12 iterations leave a margin for 'it learned'.
OVERRIDES = [
    "num_envs=8",
    "rollout_steps=64",
    "eval.episodes=8",
    "log.tensorboard=false",
    "log.progress=false",
]
ITERATIONS = 12


def _cfg(iterations: int):
    from training.config import make_config

    return make_config("a2d_image_tiger_door", [*OVERRIDES, f"total_steps={iterations * 512}", "seed=0"])


def _nets(checkpoint: Path) -> dict[str, Any]:
    from training.checkpoint import load_checkpoint

    return load_checkpoint(checkpoint)["trainer"]["nets"]


def _assert_same_nets(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for net in a:
        for name, tensor in a[net].items():
            assert torch.equal(tensor, b[net][name]), f"{net}.{name} differs from the offline run"


def _rows(run_dir: Path) -> list[dict[str, str]]:
    path = run_dir / "progress.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The offline pipeline's weights after 3 and after ITERATIONS iterations, and its log."""
    from training.loop import train

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("offline")
    train(_cfg(ITERATIONS), root / "full", resume=False, progress=False, stop_after_iterations=3)
    three = _nets(root / "full" / "checkpoint.pt")  # the run's length does not change its iterations
    train(_cfg(ITERATIONS), root / "full", resume=True, progress=False)
    return {
        "three": three,
        "full": _nets(root / "full" / "checkpoint.pt"),
        "rows": _rows(root / "full"),
    }


def _params(run_dir: Path, iterations: int, **extra: Any) -> dict[str, Any]:
    overrides = ";".join([*OVERRIDES, f"total_steps={iterations * 512}"])
    return {"overrides": f'"{overrides}"', "run_dir": str(run_dir), "bridges": "b0,b1", "seed": 0, **extra}


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_online_run_improves_the_trainee_resumes_after_kill_and_equals_offline(
    ros_env, offline, tmp_path: Path
) -> None:
    log, run_dir = Path(ros_env["ROS_LOG_DIR"]), tmp_path / "run"
    params = _params(run_dir, ITERATIONS, export_every=4)
    with bridge(ros_env, "b0", 4, log), bridge(ros_env, "b1", 4, log):
        first = trainer(ros_env, params, log / "trainer1.out").start()
        try:
            assert _wait(lambda: len(_rows(run_dir)) >= 3 or not first.alive(), 120), first.output()
            assert first.alive(), first.output()
            os.killpg(first.proc.pid, signal.SIGKILL)  # no clean shutdown: a crash
            first.proc.wait(10)
        finally:
            first.stop()
        killed_at = len(_rows(run_dir))
        assert killed_at < ITERATIONS
        with trainer(ros_env, params, log / "trainer2.out") as second:
            assert _wait(lambda: not second.alive(), 240), second.output()
            assert second.proc.returncode == 0, second.output()
    rows = _rows(run_dir)
    assert [int(r["iteration"]) for r in rows] == list(range(1, ITERATIONS + 1))
    assert int(rows[-1]["env_steps"]) == ITERATIONS * 512
    returns = [float(r["eval_return_det"]) for r in rows]
    assert returns[0] == -200.0 and returns[-1] > -100.0, returns  # the trainee learned
    assert returns == [float(r["eval_return_det"]) for r in offline["rows"]]
    _assert_same_nets(_nets(run_dir / "checkpoint.pt"), offline["full"])
    assert (run_dir / "trainee.onnx").is_file()


@pytest.mark.parametrize("mode", ["retry", "stop"])
def test_a_silent_bridge_is_detected_and_the_iteration_discarded(
    ros_env, offline, tmp_path: Path, mode
) -> None:
    log, run_dir = Path(ros_env["ROS_LOG_DIR"]), tmp_path / "run"
    params = _params(run_dir, 3, timeout_s=1.0, on_bridge_timeout=mode, max_retries=20, export_every=0)
    b0, b1 = bridge(ros_env, "b0", 4, log), bridge(ros_env, "b1", 4, log)
    with b0, b1, trainer(ros_env, params, log / "trainer.out") as node:
        assert _wait(lambda: len(_rows(run_dir)) >= 1 or not node.alive(), 90), node.output()
        os.kill(b1.proc.pid, signal.SIGSTOP)  # the bridge stops answering
        try:
            if mode == "stop":
                assert _wait(lambda: not node.alive(), 30), node.output()
            else:
                assert _wait(lambda: "retrying the iteration" in node.output(), 30), node.output()
        finally:
            os.kill(b1.proc.pid, signal.SIGCONT)
        assert _wait(lambda: not node.alive(), 120), node.output()
        out = node.output()
    assert "/b1 (missing" in out and "did not answer tick" in out, out
    assert "episodes in progress of this iteration were discarded" in out
    if mode == "stop":
        assert node.proc.returncode == 3
        assert "training stopped" in out and "resume from" in out
        assert len(_rows(run_dir)) < 3
    else:
        assert node.proc.returncode == 0, out
        # A retried iteration loses nothing: the run ends where the offline one does.
        _assert_same_nets(_nets(run_dir / "checkpoint.pt"), offline["three"])


def test_each_export_reaches_a_running_policy_node_without_restart(ros_env, models, tmp_path: Path) -> None:
    from training.ros_launch import NodeProcess

    log, run_dir = Path(ros_env["ROS_LOG_DIR"]), tmp_path / "run"
    run_dir.mkdir()
    model = run_dir / "trainee.onnx"
    shutil.copy(models["grid_a"], model)  # what the policy node runs before the first export
    before = model.read_bytes()
    policy_args = [
        "--ros-args",
        "-p",
        f"model_path:={model}",
        "-p",
        "autostart:=true",
        "-p",
        "watchdog_timeout_s:=0.0",
    ]
    policy = NodeProcess("asymlearn_ros.policy_node", policy_args, env=ros_env, log_path=log / "policy.out")
    params = _params(run_dir, 1, export_every=1, policy_reload_service="/policy_node/reload_model")
    with bridge(ros_env, "b0", 4, log), bridge(ros_env, "b1", 4, log), policy:
        assert policy.wait_for_output("policy node active", 30), policy.output()
        with trainer(ros_env, params, log / "trainer.out") as node:
            assert _wait(lambda: not node.alive(), 90), node.output()
            assert node.proc.returncode == 0, node.output()
        assert policy.alive(), policy.output()
        out, policy_out = node.output(), policy.output()
    assert model.read_bytes() != before
    assert "policy reload: success=True" in out, out
    assert "model reloaded" in policy_out, policy_out


def test_deploy_runs_the_online_launch_file_until_the_trainer_finishes(ros_env, tmp_path: Path) -> None:
    from training.deploy import deploy

    run_dir = tmp_path / "run"
    overrides = ";".join([*OVERRIDES, "total_steps=1024"])
    result = deploy(
        "a2d_online_tiger_door",
        [
            f"a2d_trainer.overrides={overrides}",
            f"a2d_trainer.run_dir={run_dir}",
            "a2d_trainer.resume=false",
            "batch_bridge.num_envs=4",  # both bridges: 2 x 4 = the 8 copies of OVERRIDES
        ],
        timeout=240.0,
        env=ros_env,
        log_dir=tmp_path / "deploy",
    )
    assert result["exit"] == "node a2d_trainer finished", result
    with open(run_dir / "progress.csv", newline="") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == [1, 2]
    # Two bridges of the same name in different namespaces keep separate logs.
    assert (tmp_path / "deploy" / "bridge0-batch_bridge.out").exists()
    assert (tmp_path / "deploy" / "bridge1-batch_bridge.out").exists()
