"""The sim bridge node's D'Claw hardware backend: measured joints out, safety-checked targets in.

Why inside the bridge node (``backend: hardware``): the policy node, topics and launch
parameters stay the same between the simulated and the real claw. There is no camera here
(run your camera driver and point the policy node's ``image_topic`` at it), no reward and
no episodes. Every target goes through ``DClawHardware.command``, i.e. the SafetyLayer with
freshly measured positions, velocities and currents, before anything reaches a motor.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64

from asymlearn_ros.joint_commands import joint_state_message
from sim_bridges.dclaw.hardware import DClawHardware, DClawHardwareError, DynamixelBus, PortUnavailableError
from sim_bridges.dclaw.safety import UnsafeCommandError
from sim_bridges.dclaw.spec import JOINT_NAMES


class DClawHardwareBackend:
    """Opens the claw (or raises PortUnavailableError / MotorNotRespondingError, nothing left open)."""

    def __init__(
        self,
        node: Node,
        device: str,
        baudrate: int,
        rate_hz: float,
        reject: Callable[[str, Exception], None],
        claw: DClawHardware | None = None,
    ) -> None:
        self.node = node
        self.reject = reject
        self.claw = claw or DClawHardware(device, bus=DynamixelBus(device, baudrate))
        try:
            self.claw.open()
        except PortUnavailableError as exc:
            raise PortUnavailableError(
                f"{exc} (here: the sim_bridge parameter device, now {device!r})"
            ) from exc
        self.errors = 0
        self.joint_pub = node.create_publisher(JointState, "joint_states", 10)
        self.valve_pub = node.create_publisher(Float64, "~/valve_angle", 10)
        self.timer = node.create_timer(1.0 / rate_hz, self._publish_state)

    def _publish_state(self) -> None:
        try:
            state = self.claw.read_state()
        except DClawHardwareError as exc:
            self._error("reading the joints", exc)
            return
        stamp = self.node.get_clock().now().to_msg()
        self.joint_pub.publish(joint_state_message(JOINT_NAMES, state.qpos, state.qvel, stamp))
        self.valve_pub.publish(Float64(data=float(state.valve_angle)))

    def command(self, targets: np.ndarray) -> None:
        """Send joint position targets (rad); refused ones are counted, bus errors logged."""
        try:
            safe = self.claw.command(targets)
        except UnsafeCommandError as exc:
            self.reject("unsafe joint command", exc)
            return
        except DClawHardwareError as exc:
            self._error("sending a command", exc)
            return
        if safe.adjustments:
            self.node.get_logger().info(f"safety layer: {safe.adjustments}", throttle_duration_sec=1.0)

    def _error(self, what: str, exc: Exception) -> None:
        self.errors += 1
        self.node.get_logger().error(
            f"D'Claw error {what} ({self.errors} so far): {exc}", throttle_duration_sec=1.0
        )

    def close(self) -> None:
        """Torque off and close the port (idempotent)."""
        self.claw.close()
