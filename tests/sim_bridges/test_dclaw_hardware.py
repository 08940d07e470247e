"""The Dynamixel bridge's error paths with the real SDK (no robot), and checks on a real D'Claw."""

from __future__ import annotations

import os
import pty
import time

import numpy as np
import pytest

pytest.importorskip("dynamixel_sdk", reason="dynamixel-sdk is not installed (pip install -e '.[hardware]')")

from sim_bridges.dclaw.hardware import (
    DClawHardware,
    DynamixelBus,
    MotorNotRespondingError,
    PortUnavailableError,
    decode_present_block,
    rad_to_raw,
    raw_to_rad,
)
from sim_bridges.dclaw.spec import RESET_POSE

MISSING = "/dev/ttyASYMLEARN_DOES_NOT_EXIST"


def test_missing_serial_device_names_it_and_leaves_nothing_open() -> None:
    bus = DynamixelBus(MISSING)
    with pytest.raises(PortUnavailableError, match=MISSING):
        bus.open()
    assert not bus.is_open and not bus._port.is_open
    hw = DClawHardware(MISSING)
    with pytest.raises(PortUnavailableError, match="ASYMLEARN_DCLAW_PORT"), hw:
        pass
    assert not hw.bus.is_open
    hw.close()  # idempotent


def test_silent_motor_names_its_id_and_closes_the_port() -> None:
    """A pseudo-terminal is a real serial device on which no motor ever answers."""
    master, slave = pty.openpty()
    try:
        hw = DClawHardware(os.ttyname(slave))
        start = time.monotonic()
        with pytest.raises(MotorNotRespondingError, match="motor 10 on /dev/pts/"):
            hw.open()
        assert time.monotonic() - start < 5.0
        assert not hw.bus.is_open and not hw.bus._port.is_open
    finally:
        os.close(master)
        os.close(slave)


def test_reads_retry_with_backoff_then_name_the_motor() -> None:
    master, slave = pty.openpty()
    try:
        bus = DynamixelBus(os.ttyname(slave), read_attempts=3, backoff_s=0.01)
        bus.open()
        try:
            with pytest.raises(MotorNotRespondingError, match=r"motor 21 .* after 3 tries"):
                bus.read_block(21, 126, 10)
        finally:
            bus.close()
        assert not bus._port.is_open
    finally:
        os.close(master)
        os.close(slave)


def test_register_conversions() -> None:
    assert raw_to_rad(2048) == 0.0 and rad_to_raw(0.0) == 2048
    assert raw_to_rad(rad_to_raw(1.0)) == pytest.approx(1.0, abs=2e-3)
    block = (-10).to_bytes(2, "little", signed=True) + (5).to_bytes(4, "little", signed=True)
    block += (3072).to_bytes(4, "little", signed=True)
    pos, vel, cur = decode_present_block(block)
    assert pos == pytest.approx(np.pi / 2) and vel == pytest.approx(5 * 0.229 * 2 * np.pi / 60)
    assert cur == pytest.approx(-26.9)


PORT = os.environ.get("ASYMLEARN_DCLAW_PORT")


@pytest.mark.hardware
@pytest.mark.skipif(PORT is None, reason="set ASYMLEARN_DCLAW_PORT=/dev/ttyUSBn to run on a real D'Claw")
def test_real_claw_reads_and_holds_reset_pose() -> None:
    assert PORT is not None
    with DClawHardware(PORT) as hw:
        state = hw.read_state()
        assert state.qpos.shape == (9,) and np.all(np.isfinite(state.qpos))
        for _ in range(20):  # ease towards the reset pose in small steps
            current = hw.read_state().qpos
            hw.command(current + np.clip(RESET_POSE - current, -0.1, 0.1))
            time.sleep(0.1)
        assert np.max(np.abs(hw.read_state().qpos - RESET_POSE)) < 0.2
