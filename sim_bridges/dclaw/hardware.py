"""The real D'Claw over the Dynamixel SDK (protocol 2.0, 1 Mbaud), behind the SafetyLayer.

Every position command goes through ``SafetyLayer.check`` with freshly measured positions,
velocities and currents before a single byte is written. Failures are explicit: a missing
serial device raises ``PortUnavailableError`` naming the device, a silent motor raises
``MotorNotRespondingError`` naming its id, and the port is closed on every error path (no
half-open resources). Reads are retried with exponential backoff, because a single lost
packet on a shared RS-485 bus is routine; writes are not (a late duplicate could move a
joint twice).

Register addresses are the X-series (XH430) protocol-2.0 control table.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim_bridges.dclaw.safety import SafeCommand, SafetyLayer
from sim_bridges.dclaw.spec import BAUDRATE, MOTOR_IDS, PROTOCOL_VERSION, SAFETY_MAX_VELOCITY, VALVE_MOTOR_ID

ADDR_TORQUE_ENABLE = 64  # 1 byte
ADDR_PROFILE_VELOCITY = 112  # 4 bytes, 0.229 rpm units: caps the speed of position moves
ADDR_GOAL_POSITION = 116  # 4 bytes
ADDR_PRESENT_CURRENT = 126  # 2 bytes signed; current, velocity and position are contiguous
ADDR_PRESENT_VELOCITY = 128  # 4 bytes signed
ADDR_PRESENT_POSITION = 132  # 4 bytes
PRESENT_BLOCK = (ADDR_PRESENT_CURRENT, 10)  # one sync read for all three

COUNTS_PER_REV = 4096
CENTER_COUNT = 2048  # raw position of 0 rad
VELOCITY_UNIT = 0.229 * 2 * math.pi / 60  # rad/s per raw unit
CURRENT_UNIT_MA = 2.69  # mA per raw unit (XH430)


class DClawHardwareError(RuntimeError):
    """Base class of hardware bridge errors."""


class PortUnavailableError(DClawHardwareError):
    """The serial device cannot be opened."""


class MotorNotRespondingError(DClawHardwareError):
    """A motor did not answer a ping or read."""


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def raw_to_rad(raw: int) -> float:
    return (raw - CENTER_COUNT) * 2 * math.pi / COUNTS_PER_REV


def rad_to_raw(rad: float) -> int:
    return round(rad * COUNTS_PER_REV / (2 * math.pi)) + CENTER_COUNT


def decode_present_block(raw: bytes | Sequence[int]) -> tuple[float, float, float]:
    """10 bytes from PRESENT_CURRENT -> (position rad, velocity rad/s, current mA)."""
    b = bytes(raw)
    current = _signed(int.from_bytes(b[0:2], "little"), 16)
    velocity = _signed(int.from_bytes(b[2:6], "little"), 32)
    position = _signed(int.from_bytes(b[6:10], "little"), 32)
    return raw_to_rad(position), velocity * VELOCITY_UNIT, current * CURRENT_UNIT_MA


def _default_sdk() -> tuple[Callable[[str], Any], Any, int]:
    import dynamixel_sdk

    return (
        dynamixel_sdk.PortHandler,
        dynamixel_sdk.PacketHandler(PROTOCOL_VERSION),
        dynamixel_sdk.COMM_SUCCESS,
    )


class DynamixelBus:
    """One serial port with retrying reads; ``open`` either fully succeeds or leaves the port closed."""

    def __init__(
        self,
        device: str,
        baudrate: int = BAUDRATE,
        *,
        read_attempts: int = 3,
        backoff_s: float = 0.005,
        sdk: tuple[Callable[[str], Any], Any, int] | None = None,
    ) -> None:
        self.device = device
        self.baudrate = baudrate
        self.read_attempts = max(1, read_attempts)
        self.backoff_s = backoff_s
        port_factory, self._packet, self._ok = sdk or _default_sdk()
        self._port = port_factory(device)
        self.is_open = False

    def open(self) -> None:
        import serial

        try:
            self._port.baudrate = self.baudrate
            opened = self._port.openPort()
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise PortUnavailableError(
                f"cannot open the Dynamixel serial device {self.device}: {exc}. Check the U2D2 cable and "
                f"permissions (dialout group), or set ASYMLEARN_DCLAW_PORT to the right device"
            ) from exc
        if not opened:
            self.close()
            raise PortUnavailableError(
                f"the Dynamixel SDK could not open {self.device} at {self.baudrate} baud"
            )
        self.is_open = True

    def close(self) -> None:
        """Idempotent; safe on a port that never opened."""
        try:
            if getattr(self._port, "is_open", False):
                self._port.closePort()
        finally:
            self.is_open = False

    def _comm_error(self, what: str, motor: int, comm: int, err: int) -> MotorNotRespondingError:
        detail = self._packet.getTxRxResult(comm) if comm != self._ok else self._packet.getRxPacketError(err)
        return MotorNotRespondingError(f"motor {motor} on {self.device} did not answer {what}: {detail}")

    def ping(self, motor: int) -> None:
        _, comm, err = self._packet.ping(self._port, motor)
        if comm != self._ok or err != 0:
            raise self._comm_error("a ping", motor, comm, err)

    def read_block(self, motor: int, address: int, length: int) -> bytes:
        """Read with retries and exponential backoff (transient bus errors are common)."""
        comm, err = self._ok, 0
        for attempt in range(self.read_attempts):
            data, comm, err = self._packet.readTxRx(self._port, motor, address, length)
            if comm == self._ok and err == 0:
                return bytes(data)
            if attempt + 1 < self.read_attempts:
                time.sleep(self.backoff_s * 2**attempt)
        raise self._comm_error(
            f"a read of {length} bytes at {address} after {self.read_attempts} tries", motor, comm, err
        )

    def write(self, motor: int, address: int, length: int, value: int) -> None:
        writer = {
            1: self._packet.write1ByteTxRx,
            2: self._packet.write2ByteTxRx,
            4: self._packet.write4ByteTxRx,
        }
        comm, err = writer[length](self._port, motor, address, value & ((1 << (8 * length)) - 1))
        if comm != self._ok or err != 0:
            raise self._comm_error(f"a write at {address}", motor, comm, err)

    def sync_write_goal(self, motors: Sequence[int], raw_positions: Sequence[int]) -> None:
        """All goal positions in one packet, so the fingers start moving together."""
        import dynamixel_sdk

        group = dynamixel_sdk.GroupSyncWrite(self._port, self._packet, ADDR_GOAL_POSITION, 4)
        for motor, raw in zip(motors, raw_positions, strict=True):
            group.addParam(motor, list(int(raw).to_bytes(4, "little", signed=True)))
        comm = group.txPacket()
        if comm != self._ok:
            raise DClawHardwareError(
                f"sync write of goal positions on {self.device} failed: {self._packet.getTxRxResult(comm)}"
            )


@dataclass
class ClawState:
    """Measured joint positions (rad), velocities (rad/s), currents (mA) and the valve angle (rad)."""

    qpos: np.ndarray
    qvel: np.ndarray
    current_ma: np.ndarray
    valve_angle: float


class DClawHardware:
    """The 9 finger motors plus the valve encoder, opened as a context manager."""

    def __init__(
        self, device: str, *, safety: SafetyLayer | None = None, bus: DynamixelBus | None = None
    ) -> None:
        self.bus = bus or DynamixelBus(device)
        self.safety = safety or SafetyLayer()
        self._torque_on = False

    def open(self) -> DClawHardware:
        self.bus.open()
        try:
            for motor in (*MOTOR_IDS, VALVE_MOTOR_ID):
                self.bus.ping(motor)
            profile = round(SAFETY_MAX_VELOCITY / VELOCITY_UNIT)  # motors never exceed 1 rad/s themselves
            for motor in MOTOR_IDS:
                self.bus.write(motor, ADDR_PROFILE_VELOCITY, 4, profile)
            for motor in MOTOR_IDS:
                self.bus.write(motor, ADDR_TORQUE_ENABLE, 1, 1)
            self._torque_on = True
        except BaseException:
            self.close()
            raise
        return self

    def read_state(self) -> ClawState:
        rows = [decode_present_block(self.bus.read_block(m, *PRESENT_BLOCK)) for m in MOTOR_IDS]
        arr = np.array(rows)
        valve = decode_present_block(self.bus.read_block(VALVE_MOTOR_ID, *PRESENT_BLOCK))[0]
        return ClawState(arr[:, 0], arr[:, 1], arr[:, 2], valve)

    def command(self, targets: np.ndarray) -> SafeCommand:
        """Check targets (rad) against the measured state, then send them; refused ones raise first."""
        state = self.read_state()
        safe = self.safety.check(targets, state.qpos, state.qvel, state.current_ma)
        self.bus.sync_write_goal(MOTOR_IDS, [rad_to_raw(t) for t in safe.targets])
        return safe

    def close(self) -> None:
        """Torque off (best effort) and close the port; idempotent."""
        try:
            if self._torque_on and self.bus.is_open:
                for motor in MOTOR_IDS:
                    with contextlib.suppress(DClawHardwareError):
                        self.bus.write(motor, ADDR_TORQUE_ENABLE, 1, 0)
        finally:
            self._torque_on = False
            self.bus.close()

    def __enter__(self) -> DClawHardware:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
