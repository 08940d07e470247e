"""A BatchedEnv whose copies live in batch bridge nodes, so the offline trainer runs over ROS.

Why: A2D's rollout code (``training.a2d.rollout.collect``) only needs the BatchedEnv API of
``sim_bridges.api``. Implementing that API over ROS topics lets the trainer node run the
offline training loop unchanged, with the simulator elsewhere in the ROS graph.

Copies are numbered across bridges in the order given (bridge 0 holds copies 0..K0-1, ...).
``reset(seed=s)`` seeds copy i with ``s + i``, exactly as the offline batched env does, so
online and offline transitions are identical for the same seed and actions. Each step is
matched by tick (see :mod:`asymlearn_ros.batch_protocol`); a bridge that does not deliver
every message of the awaited tick within ``timeout_s`` raises :class:`BridgeTimeoutError`.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Float32MultiArray, Int64MultiArray, String

from asymlearn_ros import batch_protocol as bp
from asymlearn_ros.ros_image import image_from_msg
from sim_bridges.api import IMAGE, STATE, Obs, action_space_for, observation_space_for
from training.checkpoint import env_info_from_dict

STEP = "step"


class BridgeTimeoutError(RuntimeError):
    """A bridge did not deliver a whole step in time (the message names bridge, tick and what is missing)."""


class _Link:
    """One bridge: its publishers, and the messages received for the tick awaited from it."""

    def __init__(self, node: Node, namespace: str, qos: QoSProfile) -> None:
        self.ns = "/" + namespace.strip("/")
        self.node = node
        self.qos = qos
        self.description: dict[str, Any] | None = None
        self.offset = 0
        self.expect: int | None = None
        self.want_finals = False
        self.inbox: dict[str, Any] = {}
        self.dropped = 0
        self.reset_pub = node.create_publisher(Int64MultiArray, f"{self.ns}/{bp.RESET_TOPIC}", qos)
        self.action_pub = node.create_publisher(Float32MultiArray, f"{self.ns}/{bp.ACTIONS_TOPIC}", qos)
        latched = QoSProfile(
            depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
        )
        self.subs = [node.create_subscription(String, f"{self.ns}/{bp.INFO_TOPIC}", self._on_info, latched)]

    @property
    def num_envs(self) -> int:
        assert self.description is not None
        return int(self.description["num_envs"])

    def _on_info(self, msg: String) -> None:
        try:
            self.description = json.loads(msg.data)
        except ValueError:
            self.node.get_logger().warning(f"{self.ns}: unreadable env_info ignored")

    def subscribe(self, keys: list[str], rate_hz: float) -> None:
        for key in keys:
            for prefix in ("", bp.FINAL_PREFIX):
                topic = f"{self.ns}/{prefix}{bp.OBS_TOPICS[key]}"
                msg_type = Image if key == IMAGE else Float32MultiArray
                callback = (
                    self._image_callback(prefix + key, rate_hz)
                    if key == IMAGE
                    else self._rows_callback(prefix + key)
                )
                self.subs.append(self.node.create_subscription(msg_type, topic, callback, self.qos))
        self.subs.append(
            self.node.create_subscription(
                Float32MultiArray, f"{self.ns}/{bp.STEP_TOPIC}", self._rows_callback(STEP), self.qos
            )
        )

    def _store(self, kind: str, tick: int, value: Any) -> None:
        if tick != self.expect:
            self.dropped += 1
            return
        self.inbox[kind] = value
        if kind == STEP:
            self.want_finals = bool(value[:, 1:].any())

    def _rows_callback(self, kind: str) -> Callable[[Float32MultiArray], None]:
        def callback(msg: Float32MultiArray) -> None:
            try:
                label, rows = bp.rows_from_msg(msg)
                tick, copies = bp.parse_tick_label(label)
            except ValueError as exc:
                self.node.get_logger().warning(f"{self.ns}/{kind}: {exc}", throttle_duration_sec=1.0)
                return
            self._store(kind, tick, (rows, copies) if kind.startswith(bp.FINAL_PREFIX) else rows)

        return callback

    def _image_callback(self, kind: str, rate_hz: float) -> Callable[[Image], None]:
        def callback(msg: Image) -> None:
            try:
                frame = image_from_msg(msg)
            except ValueError as exc:
                self.node.get_logger().warning(f"{self.ns}/{kind}: {exc}", throttle_duration_sec=1.0)
                return
            self._store(kind, bp.stamp_tick(msg.header.stamp, rate_hz), frame)

        return callback

    def await_tick(self, tick: int) -> None:
        self.expect, self.inbox, self.want_finals = tick, {}, False

    def missing(self, keys: list[str], stepped: bool) -> list[str]:
        need = list(keys) + ([STEP] if stepped else [])
        if self.want_finals:
            need += [bp.FINAL_PREFIX + k for k in keys]
        return [k for k in need if k not in self.inbox]


class RosBatchedEnv:
    """N copies spread over batch bridges, behind the BatchedEnv API (autoreset, ``final_obs``)."""

    def __init__(
        self, node: Node, bridges: list[str], timeout_s: float = 10.0, connect_timeout_s: float = 30.0
    ) -> None:
        if not bridges:
            raise ValueError("RosBatchedEnv needs at least one bridge namespace")
        self.node = node
        self.timeout_s = float(timeout_s)
        self.executor = SingleThreadedExecutor(context=node.context)
        self.executor.add_node(node)
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.links = [_Link(node, ns, qos) for ns in bridges]
        self._connect(connect_timeout_s)
        # Ticks are chosen here; a random base keeps a restarted trainer clear of old replies.
        self.tick = random.randrange(1, 2**28)

    def _connect(self, timeout_s: float) -> None:
        """Read every bridge's env_info, check they agree, and wait until all topics are matched."""
        if not self.spin_until(lambda: all(link.description for link in self.links), timeout_s):
            silent = [link.ns for link in self.links if not link.description]
            raise BridgeTimeoutError(f"no env_info from bridge(s) {', '.join(silent)} in {timeout_s:.0f} s")
        first = self.links[0].description
        assert first is not None
        for link in self.links[1:]:
            assert link.description is not None
            if link.description["env_info"] != first["env_info"] or link.description["keys"] != first["keys"]:
                raise ValueError(f"bridge {link.ns} runs a different environment than {self.links[0].ns}")
        self.info = env_info_from_dict(first["env_info"])
        self.keys: list[str] = list(first["keys"])
        offset = 0
        for link in self.links:
            link.offset = offset
            offset += link.num_envs
            link.subscribe(self.keys, self.info.control_rate_hz)
        self.num_envs = offset
        self.single_observation_space = observation_space_for(self.info)
        self.single_action_space = action_space_for(self.info)

        def matched() -> bool:
            return all(
                link.reset_pub.get_subscription_count() > 0
                and link.action_pub.get_subscription_count() > 0
                and all(sub.get_publisher_count() > 0 for sub in link.subs)
                for link in self.links
            )

        if not self.spin_until(matched, timeout_s):
            raise BridgeTimeoutError(
                f"bridge topics not matched within {timeout_s:.0f} s: {[link.ns for link in self.links]}"
            )

    def spin_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.executor.spin_once(timeout_sec=min(remaining, 0.05))
        return True

    def _wait(self, tick: int, stepped: bool) -> None:
        def complete() -> bool:
            return not any(link.missing(self.keys, stepped) for link in self.links)

        if not self.spin_until(complete, self.timeout_s):
            late = [
                f"{link.ns} (missing {', '.join(link.missing(self.keys, stepped))})"
                for link in self.links
                if link.missing(self.keys, stepped)
            ]
            raise BridgeTimeoutError(
                f"bridge {'; '.join(late)} did not answer tick {tick} within {self.timeout_s:.1f} s"
            )

    def _gather(self) -> Obs:
        obs: Obs = {}
        for key in self.keys:
            parts = []
            for link in self.links:
                value = link.inbox[key]
                if key == IMAGE:
                    value = value.reshape(link.num_envs, *self.info.image_shape).copy()
                parts.append(value)
            obs[key] = np.concatenate(parts)
        return obs

    # --- the BatchedEnv API ----------------------------------------------------------------
    def reset(self, *, seed: int | None = None) -> tuple[Obs, dict]:
        """Reset every copy; copy i gets seed + i (no seed: each copy continues its own stream)."""
        self.tick += 1
        for link in self.links:
            link.await_tick(self.tick)
            seeds = [] if seed is None else [int(seed) + link.offset + j for j in range(link.num_envs)]
            link.reset_pub.publish(
                bp.rows_msg(np.asarray(seeds, np.int64), bp.tick_label(self.tick), Int64MultiArray)
            )
        self._wait(self.tick, stepped=False)
        return self._gather(), {}

    def step(self, actions: np.ndarray) -> tuple[Obs, np.ndarray, np.ndarray, np.ndarray, dict]:
        acts = np.asarray(actions, np.float32).reshape(self.num_envs, -1)
        label = bp.tick_label(self.tick)
        self.tick += 1
        for link in self.links:
            link.await_tick(self.tick)
            link.action_pub.publish(bp.rows_msg(acts[link.offset : link.offset + link.num_envs], label))
        self._wait(self.tick, stepped=True)
        table = np.concatenate([link.inbox[STEP] for link in self.links])
        final_obs: dict[int, Obs] = {}
        for link in self.links:
            if not link.want_finals:
                continue
            copies = link.inbox[bp.FINAL_PREFIX + STATE][1]  # every env has a privileged state
            for row, copy in enumerate(copies):
                final_obs[link.offset + copy] = {key: self._final_row(link, key, row) for key in self.keys}
        rewards = table[:, 0].astype(np.float32)
        return self._gather(), rewards, table[:, 1] > 0.5, table[:, 2] > 0.5, {"final_obs": final_obs}

    def _final_row(self, link: _Link, key: str, row: int) -> np.ndarray:
        value = link.inbox[bp.FINAL_PREFIX + key]
        if key == IMAGE:
            h = self.info.image_shape[0]
            return value[row * h : (row + 1) * h].copy()
        return value[0][row].copy()

    def close(self) -> None:
        self.executor.remove_node(self.node)
        self.executor.shutdown()
