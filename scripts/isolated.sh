#!/usr/bin/env bash
# Run a command inside a private network namespace that has only loopback, so DDS traffic
# cannot reach any other interface. Falls back to running it as is (ROS tests then skip,
# naming the reason) where unshare is not permitted.
set -euo pipefail
if [ "$(python3 -c 'import socket;print([n for _,n in socket.if_nameindex()])')" = "['lo']" ]; then
  exec "$@"
fi
if err=$(unshare -n true 2>&1); then
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
export ASYMLEARN_NETNS_UNAVAILABLE="unshare -n failed: ${err:-not permitted}"
echo "[isolated] $ASYMLEARN_NETNS_UNAVAILABLE; running without a private namespace (ROS tests will skip)" >&2
exec "$@"
