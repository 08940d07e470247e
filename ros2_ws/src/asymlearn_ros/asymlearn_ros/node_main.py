"""The ``main()`` every long-running node shares: init, build, spin until shutdown, clean up.

Why one place: Ctrl-C and ``ros2 launch`` shutdowns raise ``ExternalShutdownException`` (not
only KeyboardInterrupt), a node that cannot start (no server, no device, bad parameters) must
say so in one line and exit 1 without a traceback, and every node must be destroyed and rclpy
shut down on every path; each node getting this right on its own is how one of them forgets.
"""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def run_node(
    factory: Callable[[], Node],
    label: str,
    args: list[str] | None = None,
    start: Callable[[Node], bool] | None = None,
) -> None:
    """Build the node with ``factory`` and spin it until shutdown; exit 1 if it cannot start.

    ``start`` runs once before spinning (a lifecycle node's autostart); ``False`` means it
    failed and said why, and the node is cleaned up and the process exits 1 without spinning.
    """
    rclpy.init(args=args)
    try:
        node = factory()
    except (KeyboardInterrupt, ExternalShutdownException):
        rclpy.try_shutdown()
        return
    except Exception as exc:
        rclpy.logging.get_logger(label.replace(" ", "_")).fatal(f"{label} failed to start: {exc}")
        rclpy.try_shutdown()
        raise SystemExit(1) from None
    started = True
    try:
        started = start is None or start(node)
        if started:
            rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    if not started:
        raise SystemExit(1)
