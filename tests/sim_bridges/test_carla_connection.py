"""CARLA client behaviour with no server: clean, bounded failures that name host:port."""

from __future__ import annotations

import os
import socket
import time

import pytest

from sim_bridges.carla.connection import CarlaConnectionError, connect

pytest.importorskip("carla", reason="the carla==0.9.16 client is not installed (pip install -e '.[carla]')")


def _free_port() -> int:
    """A loopback port where nothing listens (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _native_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def test_no_server_fails_cleanly_within_timeout() -> None:
    port = _free_port()
    fds, threads = _open_fds(), _native_threads()
    start = time.monotonic()
    with pytest.raises(CarlaConnectionError) as err:
        connect("127.0.0.1", port, timeout_s=1.0, attempts=2, backoff_s=0.1)
    elapsed = time.monotonic() - start
    # two 1 s timeouts and one 0.1 s backoff; generous upper bound for a loaded 2-core machine
    assert 2.0 <= elapsed < 6.0, elapsed
    message = str(err.value)
    assert f"127.0.0.1:{port}" in message and "2 attempt" in message and "CarlaUE4" in message
    assert "time-out" in message
    # no half-open resources: the failed clients' sockets and threads are gone
    deadline = time.monotonic() + 2.0
    while (_open_fds() > fds or _native_threads() > threads) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _open_fds() <= fds
    assert _native_threads() <= threads


def test_env_without_server_raises_connection_error_and_closes() -> None:
    from sim_bridges.carla.env import CarlaOccludedPedestrianEnv

    port = _free_port()
    start = time.monotonic()
    with pytest.raises(CarlaConnectionError, match=f"127.0.0.1:{port}"):
        CarlaOccludedPedestrianEnv(host="127.0.0.1", port=port, timeout_s=1.0, connect_attempts=1)
    assert time.monotonic() - start < 4.0


class _FlakyClient:
    """Fails ``failures`` times, then answers like a 0.9.16 server."""

    calls = 0

    def __init__(self, host: str, port: int, failures: int) -> None:
        self.failures = failures

    def set_timeout(self, s: float) -> None:
        self.timeout = s

    def get_server_version(self) -> str:
        type(self).calls += 1
        if type(self).calls <= self.failures:
            raise RuntimeError("time-out of 10ms while waiting for the simulator")
        return "0.9.16"

    def get_client_version(self) -> str:
        return "0.9.16"


def test_retries_with_exponential_backoff() -> None:
    _FlakyClient.calls = 0
    sleeps: list[float] = []
    client = connect(
        "h",
        1,
        attempts=4,
        backoff_s=0.5,
        sleep=sleeps.append,
        client_factory=lambda h, p: _FlakyClient(h, p, 2),
    )
    assert isinstance(client, _FlakyClient)
    assert sleeps == [0.5, 1.0]  # two failures, doubling waits, no wait after success


def test_gives_up_after_configured_attempts() -> None:
    _FlakyClient.calls = 0
    sleeps: list[float] = []
    with pytest.raises(CarlaConnectionError, match="h:1 after 3 attempt"):
        connect(
            "h",
            1,
            attempts=3,
            backoff_s=0.25,
            sleep=sleeps.append,
            client_factory=lambda h, p: _FlakyClient(h, p, 99),
        )
    assert sleeps == [0.25, 0.5] and _FlakyClient.calls == 3
