"""Rolling latency/rate statistics and their DiagnosticStatus, kept out of the node classes."""

from __future__ import annotations

import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue


class LatencyWindow:
    """Fixed ring of the last N latencies (seconds); recording allocates nothing."""

    def __init__(self, size: int = 1000) -> None:
        self._buf = np.zeros(size, np.float64)
        self._n = 0

    def record(self, seconds: float) -> None:
        self._buf[self._n % self._buf.size] = seconds
        self._n += 1

    @property
    def count(self) -> int:
        return self._n

    def stats_ms(self) -> dict[str, float]:
        """mean/p50/p99/max in milliseconds over the window (zeros when empty)."""
        if self._n == 0:
            return {"mean": 0.0, "p50": 0.0, "p99": 0.0, "max": 0.0}
        ms = self._buf[: min(self._n, self._buf.size)] * 1e3
        p50, p99 = np.percentile(ms, [50, 99])
        return {"mean": float(ms.mean()), "p50": float(p50), "p99": float(p99), "max": float(ms.max())}


class RateMeter:
    """Events per second since the previous read."""

    def __init__(self) -> None:
        self._count = 0
        self._since = time.monotonic()

    def tick(self) -> None:
        self._count += 1

    def read(self) -> float:
        now = time.monotonic()
        rate = self._count / max(now - self._since, 1e-9)
        self._count, self._since = 0, now
        return rate


def diagnostic_array(
    stamp, name: str, hardware_id: str, level: bytes, message: str, values: dict[str, object]
) -> DiagnosticArray:
    """One-status DiagnosticArray (values formatted as strings, as the message requires)."""
    status = DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id)
    status.values = [
        KeyValue(key=k, value=f"{v:.3f}" if isinstance(v, float) else str(v)) for k, v in values.items()
    ]
    array = DiagnosticArray()
    array.header.stamp = stamp
    array.status = [status]
    return array


OK, WARN, ERROR, STALE = (
    DiagnosticStatus.OK,
    DiagnosticStatus.WARN,
    DiagnosticStatus.ERROR,
    DiagnosticStatus.STALE,
)
