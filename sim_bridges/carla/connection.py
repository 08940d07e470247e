"""Connecting to a CARLA server with clear errors, retries and exponential backoff.

With no server, the carla client's first RPC blocks for the whole client timeout and
then raises a bare ``RuntimeError``; callers get a ``CarlaConnectionError`` instead that
names host:port, how long was tried and what to do.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

DEFAULT_PORT = 2000


class CarlaConnectionError(RuntimeError):
    """No CARLA server answered, or it stopped answering; the message says where and what to do."""


def server_hint(host: str, port: int) -> str:
    return (
        f"start a CARLA 0.9.16 server reachable at {host}:{port} (e.g. `./CarlaUE4.sh -RenderOffScreen "
        f"-carla-rpc-port={port}`), or pass the right host/port (CARLA_HOST / CARLA_PORT in the tests)"
    )


def connect(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    timeout_s: float = 10.0,
    attempts: int = 3,
    backoff_s: float = 1.0,
    client_factory: Callable[[str, int], Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """A ``carla.Client`` whose server answered ``get_server_version``, after up to ``attempts`` tries.

    Waits ``backoff_s * 2**k`` seconds after the k-th failed try. Worst-case time without a
    server: ``attempts * timeout_s + backoff_s * (2**(attempts-1) - 1)``.
    """
    if client_factory is None:
        import carla

        client_factory = carla.Client
    attempts = max(1, attempts)
    last: Exception | None = None
    for k in range(attempts):
        client = client_factory(host, port)
        client.set_timeout(timeout_s)
        try:
            server = client.get_server_version()
        except RuntimeError as exc:
            last = exc
            del client  # drop the failed client's RPC connection before retrying
            if k + 1 < attempts:
                sleep(backoff_s * 2**k)
            continue
        own = client.get_client_version()
        if server != own:
            warnings.warn(
                f"CARLA server {host}:{port} runs {server} but the client is {own}: expect API errors",
                stacklevel=2,
            )
        return client
    raise CarlaConnectionError(
        f"no CARLA server answered at {host}:{port} after {attempts} attempt(s) with a {timeout_s:g} s "
        f"timeout ({last}); {server_hint(host, port)}"
    )
