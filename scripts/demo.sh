#!/usr/bin/env bash
# Set up (idempotent) and run the end-to-end demo. Extra arguments go to `asymlearn demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. scripts/env.sh
exec asymlearn demo "$@"
