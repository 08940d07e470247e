# Source me: `. scripts/env.sh` activates the venv and the colcon workspace, with the
# network discipline for ROS 2 (localhost-only discovery) and headless MuJoCo rendering.
_asymlearn_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
# shellcheck disable=SC1091
. "$_asymlearn_root/.venv/bin/activate"
export AMENT_PREFIX_PATH=$VIRTUAL_ENV
if [ -f "$_asymlearn_root/ros2_ws/install/setup.bash" ] && [ -n "${BASH_VERSION:-}" ]; then
  # colcon's setup.bash reads unset variables: relax `set -u` while sourcing it.
  case $- in *u*) _asymlearn_u=1; set +u ;; *) _asymlearn_u=0 ;; esac
  # shellcheck disable=SC1091
  . "$_asymlearn_root/ros2_ws/install/setup.bash"
  [ "$_asymlearn_u" = 1 ] && set -u
  unset _asymlearn_u
fi
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
export MUJOCO_GL=${MUJOCO_GL:-egl}
unset _asymlearn_root
