"""Online A2D trainer node: the offline training loop, with its environment in batch bridge nodes.

Why this shape: the algorithm (``training.a2d``) and the loop (``training.loop.train``:
seeding, logging, atomic checkpoints, resume) are reused unchanged; only the environment is
swapped for :class:`asymlearn_ros.ros_batched_env.RosBatchedEnv`. Evaluation episodes run
in-process on a local copy of the environment, as offline (they are a measurement, not data).

On top of the loop it adds what an online run needs: a bridge that stops answering raises a
timeout; the iteration in progress (its partial episodes) is discarded and, per
``on_bridge_timeout``, rerun (``retry``, up to ``max_retries`` times; a restarted bridge is
picked up) or training stops with the reason (``stop``). A killed trainer restarted with the
same parameters resumes from its last checkpoint. Every ``export_every`` iterations the
trainee is exported to ``<run_dir>/trainee.onnx`` (atomically) and, if
``policy_reload_service`` is set, a running policy node is asked to reload it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from std_srvs.srv import Trigger

from asymlearn_ros.ros_batched_env import BridgeTimeoutError, RosBatchedEnv

PARAMETERS: dict[str, Any] = {
    "preset": "a2d_image_tiger_door",
    "seed": 0,
    "overrides": "",  # ";"-separated dotted overrides, e.g. "total_steps=20000;eval.every=2"
    "run_dir": "",  # "" = <log.root>/<preset>_online/seed<k>
    "resume": True,
    "bridges": "bridge0",  # ","-separated namespaces of batch_bridge nodes
    "timeout_s": 10.0,  # a bridge silent this long for one step has stopped answering
    "connect_timeout_s": 60.0,
    "on_bridge_timeout": "retry",  # retry | stop
    "max_retries": 3,
    "export_every": 10,  # iterations; 0 = never
    "policy_reload_service": "",  # e.g. /policy_node/reload_model
    "progress": False,
}


class TrainingStopped(RuntimeError):  # noqa: N818 (a stop, not an error of this node)
    """Training stopped on purpose (bridge lost); the message says why and how to resume."""


class A2DTrainerNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("a2d_trainer", **kwargs)
        for name, default in PARAMETERS.items():
            self.declare_parameter(name, default)
        from training.config import make_config

        overrides = [item.strip() for item in str(self.param("overrides")).split(";") if item.strip()]
        self.cfg = make_config(self.param("preset"), [*overrides, f"seed={int(self.param('seed'))}"])
        if self.param("on_bridge_timeout") not in ("retry", "stop"):
            raise ValueError(
                f"on_bridge_timeout must be retry or stop, got {self.param('on_bridge_timeout')!r}"
            )
        preset = self.cfg.get("preset") or self.cfg.method
        default_dir = Path(self.cfg.log.root) / f"{preset}_online" / f"seed{int(self.cfg.seed)}"
        self.run_dir = Path(self.param("run_dir") or default_dir)
        self.bridges = [b.strip() for b in str(self.param("bridges")).split(",") if b.strip()]
        self.reload_client = None
        if self.param("policy_reload_service"):
            self.reload_client = self.create_client(Trigger, self.param("policy_reload_service"))
        self.env: RosBatchedEnv | None = None

    def param(self, name: str) -> Any:
        return self.get_parameter(name).value

    # --- hooks into the training loop -------------------------------------------------------
    def _retry(self, exc: Exception, attempt: int) -> bool:
        if not isinstance(exc, BridgeTimeoutError):
            return False
        limit = int(self.param("max_retries"))
        what = f"{exc}; the episodes in progress of this iteration were discarded"
        if self.param("on_bridge_timeout") == "retry" and attempt <= limit:
            self.get_logger().warning(f"{what}; retrying the iteration ({attempt}/{limit})")
            return True
        raise TrainingStopped(
            f"training stopped: {what}. Restart the bridge(s) and this trainer to resume from "
            f"{self.run_dir / 'checkpoint.pt'}"
        ) from exc

    def _after_save(self, trainer: Any, checkpoint: Path) -> None:
        every = int(self.param("export_every"))
        if every <= 0 or trainer.iteration % every:
            return
        from policies.export import export_policy
        from policies.export_cmd import metadata_from_training_dict
        from training.checkpoint import load_policy_for_export

        try:
            module, metadata = load_policy_for_export(checkpoint, "trainee")
            path = export_policy(module, metadata_from_training_dict(metadata), self.run_dir / "trainee.onnx")
        except Exception as exc:  # a failed export must not end a training run; the old file stays
            self.get_logger().error(f"export at iteration {trainer.iteration} failed: {exc}")
            return
        self.get_logger().info(f"exported trainee at iteration {trainer.iteration}: {path}")
        if self.reload_client is not None and self.env is not None:
            self._request_reload()

    def _request_reload(self) -> None:
        assert self.reload_client is not None and self.env is not None
        if not self.reload_client.service_is_ready():
            self.get_logger().warning(f"{self.param('policy_reload_service')} not available; no reload asked")
            return
        future = self.reload_client.call_async(Trigger.Request())
        if self.env.spin_until(future.done, 10.0) and future.result() is not None:
            result = future.result()
            self.get_logger().info(f"policy reload: success={result.success} {result.message}")
        else:
            self.get_logger().warning("policy reload request got no answer within 10 s")

    # --- run ---------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        from sim_bridges.registry import make_batched
        from training.loop import TrainHooks, train

        cfg = self.cfg
        self.env = RosBatchedEnv(
            self, self.bridges, float(self.param("timeout_s")), float(self.param("connect_timeout_s"))
        )
        if self.env.num_envs != int(cfg.num_envs):
            raise ValueError(
                f"{self.bridges} hold {self.env.num_envs} copies; the config has num_envs={cfg.num_envs}"
            )
        if self.env.info.name != make_batched(cfg.env, 1).info.name:
            raise ValueError(f"bridges run {self.env.info.name}, the config trains {cfg.env}")
        eval_env = make_batched(cfg.env, int(cfg.eval.episodes), **dict(cfg.get("env_kwargs") or {}))
        self.get_logger().info(
            f"training {cfg.get('preset')} seed {cfg.seed} over {len(self.bridges)} bridge(s) "
            f"({self.env.num_envs} copies) into {self.run_dir}"
        )
        try:
            return train(
                cfg,
                self.run_dir,
                resume=bool(self.param("resume")),
                progress=bool(self.param("progress")),
                envs=(self.env, eval_env),
                hooks=TrainHooks(retry=self._retry, after_save=self._after_save),
            )
        finally:
            self.env.close()


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    try:
        node = A2DTrainerNode()
    except (KeyError, ValueError) as exc:  # bad preset, override or parameter: say which
        print(f"a2d_trainer: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        sys.exit(2)
    code = 0
    try:
        summary = node.run()
        print(json.dumps(summary, default=float), flush=True)
        node.get_logger().info(f"training finished: {summary['env_steps']} steps, {summary['last_eval']}")
    except TrainingStopped as exc:
        node.get_logger().error(str(exc))
        code = 3
    except (BridgeTimeoutError, ValueError) as exc:  # bridges never came up, or do not fit the config
        node.get_logger().error(str(exc))
        code = 2
    except (KeyboardInterrupt, ExternalShutdownException):
        code = 130
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    sys.exit(code)


if __name__ == "__main__":
    main()
