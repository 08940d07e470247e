"""Batch simulator bridge: K copies of an environment, stepped in lockstep for online training.

Why a second bridge: ``sim_bridge_node`` serves one camera to one policy, one DDS round trip
per environment step. Online A2D steps 32 copies at once; hosting K copies per bridge keeps
that to one round trip per bridge and batch step. The copies are the SAME batched
environment the offline pipeline uses (``sim_bridges.make_batched``), seeded per copy by the
trainer through ``reset``, so a run through ROS sees exactly the offline transitions.

Protocol and topics: see :mod:`asymlearn_ros.batch_protocol`. The bridge steps only for an
action message whose tick is the tick of the observation it last published; anything else
(stale, duplicated or malformed) is dropped and counted, never guessed.

DDS discovery is not symmetric: the trainer may see this bridge's publishers, and send its
first reset, before those publishers have matched the trainer's subscriptions. A reply
written then would be lost (volatile QoS). So the reply to a reset is held until every
output topic has a subscriber; after that first reply every later write finds them matched.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import yaml
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Float32MultiArray, Int64MultiArray, String

from asymlearn_ros import batch_protocol as bp
from asymlearn_ros.node_main import run_node
from asymlearn_ros.ros_image import to_image_msg
from sim_bridges import registry
from sim_bridges.api import IMAGE

PARAMETERS: dict[str, Any] = {
    "env_name": "tiger_door",
    "env_kwargs": "{}",  # YAML mapping passed to registry.make_batched
    "num_envs": 16,
    "frame_id": "camera",
}


class BatchBridgeNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("batch_bridge", **kwargs)
        for name, default in PARAMETERS.items():
            self.declare_parameter(name, default)
        env_kwargs = yaml.safe_load(self.param("env_kwargs") or "{}") or {}
        if not isinstance(env_kwargs, dict):
            raise ValueError(f"env_kwargs must be a YAML mapping, got {self.param('env_kwargs')!r}")
        self.num_envs = int(self.param("num_envs"))
        if self.num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {self.num_envs}")
        self.env = registry.make_batched(self.param("env_name"), self.num_envs, **env_kwargs)
        self.info = self.env.info
        self.keys = [k for k in bp.OBS_TOPICS if k in self.env.single_observation_space.spaces]
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.pubs = {}
        for key in self.keys:
            msg_type = Image if key == IMAGE else Float32MultiArray
            self.pubs[key] = self.create_publisher(msg_type, bp.OBS_TOPICS[key], reliable)
            self.pubs[bp.FINAL_PREFIX + key] = self.create_publisher(
                msg_type, bp.FINAL_PREFIX + bp.OBS_TOPICS[key], reliable
            )
        self.step_pub = self.create_publisher(Float32MultiArray, bp.STEP_TOPIC, reliable)
        latched = QoSProfile(
            depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
        )
        info_pub = self.create_publisher(String, bp.INFO_TOPIC, latched)
        info_pub.publish(String(data=json.dumps(self.describe())))
        self.create_subscription(Int64MultiArray, bp.RESET_TOPIC, self._on_reset, reliable)
        self.create_subscription(Float32MultiArray, bp.ACTIONS_TOPIC, self._on_actions, reliable)
        self.tick: int | None = None  # tick of the observation last published (None before a reset)
        self.dropped = 0
        self._held_reply: tuple[dict[str, np.ndarray], int] | None = None  # reset reply awaiting subscribers
        self.create_timer(0.02, self._send_held_reply)
        self.get_logger().info(
            f"batch bridge ready: {self.info.name} x{self.num_envs}, observations {', '.join(self.keys)}"
        )

    def param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def describe(self) -> dict[str, Any]:
        from training.checkpoint import env_info_to_dict

        return {"env_info": env_info_to_dict(self.info), "num_envs": self.num_envs, "keys": self.keys}

    # --- publishing -------------------------------------------------------------------
    def _publish_obs(self, obs: dict[str, np.ndarray], tick: int, copies: list[int] | None = None) -> None:
        prefix = "" if copies is None else bp.FINAL_PREFIX
        label = bp.tick_label(tick, copies)
        for key in self.keys:
            values = obs[key]
            if key == IMAGE:
                k, h, w, c = values.shape
                stamp = bp.tick_stamp(tick, self.info.control_rate_hz)
                frame = self.param("frame_id")
                msg = to_image_msg(values.reshape(k * h, w, c), self.info.image_encoding, frame, stamp)
            else:
                msg = bp.rows_msg(values, label)
            self.pubs[prefix + key].publish(msg)

    # --- callbacks --------------------------------------------------------------------
    def _on_reset(self, msg: Int64MultiArray) -> None:
        try:
            label, seeds = bp.rows_from_msg(msg)
            tick, _ = bp.parse_tick_label(label)
            seed_list = [int(s) for s in seeds.reshape(-1)]
            if seed_list and len(seed_list) != self.num_envs:
                raise ValueError(f"reset needs {self.num_envs} seeds or none, got {len(seed_list)}")
        except ValueError as exc:
            self.get_logger().warning(f"reset ignored: {exc}", throttle_duration_sec=1.0)
            return
        obs, _ = self.env.reset(seed=seed_list or None)
        self.tick = tick
        unmatched = self._unmatched_outputs()
        if unmatched:
            self._held_reply = (obs, tick)
            self.get_logger().info(f"reset reply held until these topics have a subscriber: {unmatched}")
            return
        self._held_reply = None
        self._publish_obs(obs, tick)

    def _unmatched_outputs(self) -> list[str]:
        return [p.topic_name for p in (*self.pubs.values(), self.step_pub) if p.get_subscription_count() == 0]

    def _send_held_reply(self) -> None:
        if self._held_reply is None or self._unmatched_outputs():
            return
        (obs, tick), self._held_reply = self._held_reply, None
        self._publish_obs(obs, tick)
        self.get_logger().info(f"held reset reply for tick {tick} sent")

    def _on_actions(self, msg: Float32MultiArray) -> None:
        try:
            label, rows = bp.rows_from_msg(msg)
            tick, _ = bp.parse_tick_label(label)
            if rows.shape[0] != self.num_envs:
                raise ValueError(f"expected {self.num_envs} action rows, got {rows.shape[0]}")
        except ValueError as exc:
            self.get_logger().warning(f"actions ignored: {exc}", throttle_duration_sec=1.0)
            return
        if self.tick is None or tick != self.tick:
            self.dropped += 1
            self.get_logger().debug(f"actions for tick {tick} ignored (awaiting {self.tick}); {self.dropped}")
            return
        actions = rows.astype(np.int64).reshape(-1) if self.info.discrete_actions is not None else rows
        try:
            obs, reward, terminated, truncated, info = self.env.step(actions)
        except ValueError as exc:
            self.get_logger().warning(
                f"actions rejected by the environment: {exc}", throttle_duration_sec=1.0
            )
            return
        self.tick = tick + 1
        final = info.get("final_obs") or {}
        if final:
            copies = sorted(int(i) for i in final)
            stacked = {k: np.stack([final[i][k] for i in copies]) for k in self.keys}
            self._publish_obs(stacked, self.tick, copies)
        table = np.stack([reward, terminated, truncated], axis=1).astype(np.float32)
        self.step_pub.publish(bp.rows_msg(table, bp.tick_label(self.tick)))
        self._publish_obs(obs, self.tick)

    def destroy_node(self) -> None:
        self.env.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(BatchBridgeNode, "batch bridge", args)


if __name__ == "__main__":
    main()
