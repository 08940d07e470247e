#!/usr/bin/env bash
# One idempotent setup for a fresh Debian 12 / Python 3.11 machine (and for the Dockerfile):
# Debian packages, the venv with pinned Python packages, and the colcon workspace.
# Safe to run again after `git pull`: it reinstalls only when constraints or pyproject change.
#   scripts/setup.sh           CPU install (default)
#   scripts/setup.sh --gpu     onnxruntime-gpu instead of onnxruntime (never both)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GPU=0
for arg in "$@"; do
  case "$arg" in
    --gpu) GPU=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
started=$(date +%s)

# --- Debian packages: only what is missing, so a ready machine does no apt work ---------
need_apt=()
command -v ip >/dev/null || need_apt+=(iproute2)
command -v unshare >/dev/null || need_apt+=(util-linux)
command -v git >/dev/null || need_apt+=(git)
ldconfig -p | grep -q 'libEGL.so.1' || need_apt+=(libegl1 libgles2)
ldconfig -p | grep -q 'libGL.so.1' || need_apt+=(libgl1)
[ -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so ] || [ -d /usr/lib/x86_64-linux-gnu/dri ] || need_apt+=(libgl1-mesa-dri)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# --- Python venv with exact versions ------------------------------------------------------
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { echo "setup.sh: Python 3.11 is required (the ROS 2 wheels are built for it)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
stamp_want=$(cat constraints.txt pyproject.toml <(echo "gpu=$GPU") | sha256sum | cut -c1-16)
stamp_have=$(cat .venv/.asymlearn-stamp 2>/dev/null || true)
if [ "$stamp_want" != "$stamp_have" ]; then
  say "installing Python packages (pinned by constraints.txt; ~1-2 min from a cold cache)"
  log=.venv/pip-install.log  # kept next to the venv it describes; overwritten by the next install
  .venv/bin/python -m pip install -q "pip==26.3" >"$log" 2>&1 || { cat "$log"; exit 1; }
  extras="cpu,ros,carla,hardware,dev"
  if [ "$GPU" = 1 ]; then
    extras="gpu,ros,carla,hardware,dev"
    .venv/bin/python -m pip uninstall -y -q onnxruntime 2>/dev/null || true
  fi
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[$extras]" >"$log" 2>&1 \
    || { cat "$log"; echo "setup.sh: pip install failed (log above)" >&2; exit 1; }
  echo "$stamp_want" > .venv/.asymlearn-stamp
else
  say "Python packages up to date"
fi

# --- ROBEL's D'Claw model files (MJCF + meshes; robel itself needs mujoco-py) ----------
bash scripts/fetch_robel.sh >/dev/null || { echo "setup.sh: fetching ROBEL's model files failed" >&2; exit 1; }

# --- colcon workspace ----------------------------------------------------------------------
say "building the colcon workspace (ros2_ws)"
(
  # shellcheck disable=SC1091
  . .venv/bin/activate
  export AMENT_PREFIX_PATH=$VIRTUAL_ENV
  cd ros2_ws && mkdir -p log
  colcon --log-base log build --symlink-install --metas ../colcon.meta \
    --event-handlers console_stderr- >/dev/null 2>log/setup-build.err \
    || { cat log/setup-build.err; echo "setup.sh: colcon build failed" >&2; exit 1; }
)
say "done in $(( $(date +%s) - started )) s; venv $(du -sh .venv | cut -f1). Activate with: . scripts/env.sh"
