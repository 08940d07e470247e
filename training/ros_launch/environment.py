"""The network discipline every ROS 2 process we start must follow.

DDS discovery multicasts on every interface by default. These machines may only talk to
loopback, so every process gets localhost-only discovery and its own domain id, and tests
run in a private network namespace that has nothing but loopback.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
from pathlib import Path

# Valid ROS 2 domain ids that do not collide with the default (0).
_DOMAIN_IDS = range(1, 102)


def in_private_netns() -> bool:
    """True when the only network interface this process can see is loopback."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def isolation_problem() -> str | None:
    """None when ROS traffic is confined to loopback in a private namespace, else why not."""
    if in_private_netns():
        return None
    reason = os.environ.get("ASYMLEARN_NETNS_UNAVAILABLE")
    if reason:
        return f"no private network namespace: {reason}"
    names = ", ".join(name for _, name in socket.if_nameindex())
    return (
        f"not inside a private network namespace (interfaces: {names}); run the tests with "
        "scripts/test.sh, or: unshare -n sh -c 'ip link set lo up; exec python -m pytest ...'"
    )


def discovery_env(
    log_dir: str | Path,
    domain_id: int | None = None,
    large_data: bool = False,
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment for a ROS 2 process: localhost discovery, own domain id, own log dir.

    large_data selects Fast DDS's LARGE_DATA builtin transports, needed for camera-sized
    best-effort images (see shared/platform.md); small images are fine without it.
    """
    env = dict(os.environ if base is None else base)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env.pop("ROS_LOCALHOST_ONLY", None)  # ignored by Kilted, and misleading if left
    env["ROS_DOMAIN_ID"] = str(random.choice(_DOMAIN_IDS) if domain_id is None else domain_id)
    env["ROS_LOG_DIR"] = str(log_dir)
    env["PYTHONUNBUFFERED"] = "1"
    if large_data:
        env["FASTDDS_BUILTIN_TRANSPORTS"] = "LARGE_DATA"
    return env


def apply_discovery_env(log_dir: str | Path, domain_id: int | None = None, large_data: bool = False) -> None:
    """Apply discovery_env to this process (before rclpy.init)."""
    os.environ.update(discovery_env(log_dir, domain_id, large_data))


def unshare_available() -> str | None:
    """None if `unshare -n` works here, else the reason it does not."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip not installed (util-linux, iproute2)"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"unshare -n not permitted: {probe.stderr.strip() or probe.returncode}"
    return None


def reexec_in_private_netns(argv: list[str] | None = None) -> None:
    """Replace this process with itself inside a fresh loopback-only network namespace.

    Returns normally (doing nothing) when already isolated or when unshare is unavailable;
    callers then fall back to localhost-only discovery.
    """
    if in_private_netns() or os.environ.get("ASYMLEARN_NO_NETNS") == "1":
        return
    if unshare_available() is not None:
        return
    argv = [sys.executable, *(sys.argv if argv is None else argv)]
    os.execvp("unshare", ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *argv])
