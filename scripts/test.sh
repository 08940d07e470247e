#!/usr/bin/env bash
# Set up (idempotent) and run the whole default test suite: ruff, the colcon package tests,
# and pytest (ROS tests inside a private loopback-only network namespace).
# Extra arguments go to pytest, e.g. scripts/test.sh -m slow, scripts/test.sh tests/ros.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. scripts/env.sh
# ROS node logs of the last run (runs/ is git-ignored); replaced on every run, not piled up in /tmp.
if [ -z "${ROS_LOG_DIR:-}" ]; then
  export ROS_LOG_DIR=$PWD/runs/test_ros_log
  rm -rf "$ROS_LOG_DIR" && mkdir -p "$ROS_LOG_DIR"
fi
started=$(date +%s)

echo "== ruff"
ruff check .

echo "== colcon test (ros2_ws)"
(cd ros2_ws && bash ../scripts/isolated.sh colcon --log-base log test --return-code-on-test-failure \
   --metas ../colcon.meta --event-handlers console_stderr- >/dev/null) \
  || { (cd ros2_ws && colcon test-result --verbose); exit 1; }
(cd ros2_ws && colcon test-result --verbose)

echo "== pytest"
set +e
bash scripts/isolated.sh python -m pytest "$@"
rc=$?
set -e
echo "test suite: $(( $(date +%s) - started )) s"
# pytest exits 5 when it collected no tests: that is a failure here, never a silent pass.
exit $rc
