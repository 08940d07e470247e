#!/usr/bin/env bash
# Fetch the D'Claw MJCF models and meshes (Apache-2.0) from the robel 0.1.2 wheel.
#
# Why this dance: `pip install robel` needs mujoco-py and the MuJoCo 2.0 binary, and
# pip >= 23.3 rejects robel's metadata (`transforms3d>=0.3.0<0.4`), so even
# `pip download robel` fails with the venv's pip. A throw-away pip 23.2.1 in a temporary
# directory still downloads the wheel; we unzip only the model folders and never install
# or import robel.
#
# Result (default): .venv/share/robel-models/{robel-scenes/{dclaw,dclaw_stations,scenes},dclaw/assets}
# Override the destination with ASYMLEARN_ROBEL_MODELS (the loader reads the same variable).
# Idempotent: exits 0 at once when the models are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-$ROOT/.venv/bin/python}
DEST=${ASYMLEARN_ROBEL_MODELS:-$ROOT/.venv/share/robel-models}
VERSION=0.1.2
MARKER="$DEST/.robel-$VERSION-complete"
say() { printf '[fetch_robel] %s\n' "$*"; }

if [ -f "$MARKER" ] && [ -f "$DEST/dclaw/assets/dclaw3xh_valve3_v0.xml" ]; then
  say "robel $VERSION models already present in $DEST (nothing to do)"
  exit 0
fi
[ -x "$PY" ] || command -v "$PY" >/dev/null || { echo "fetch_robel.sh: no Python at $PY (run scripts/setup.sh first or set PYTHON)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/asymlearn-robel.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

say "installing a temporary pip 23.2.1 into $TMP/pip (robel's metadata is rejected by pip >= 23.3)"
"$PY" -m pip install -q --disable-pip-version-check --target "$TMP/pip" "pip==23.2.1" >"$TMP/pip.log" 2>&1 \
  || { cat "$TMP/pip.log" >&2; echo "fetch_robel.sh: could not install pip 23.2.1" >&2; exit 1; }

say "downloading robel==$VERSION (wheel only, no dependencies)"
PYTHONPATH="$TMP/pip" "$PY" -m pip download -q --disable-pip-version-check --no-deps \
  "robel==$VERSION" -d "$TMP/dl" >"$TMP/dl.log" 2>&1 \
  || { cat "$TMP/dl.log" >&2; echo "fetch_robel.sh: pip download robel==$VERSION failed" >&2; exit 1; }
WHEEL=$(ls "$TMP"/dl/robel-"$VERSION"-*.whl)

say "extracting the D'Claw model folders from $(basename "$WHEEL")"
"$PY" - "$WHEEL" "$TMP/x" <<'EOF'
import sys, zipfile
wanted = ("robel/robel-scenes/dclaw/", "robel/robel-scenes/dclaw_stations/",
          "robel/robel-scenes/scenes/", "robel/dclaw/assets/")
with zipfile.ZipFile(sys.argv[1]) as z:
    names = [n for n in z.namelist() if n.startswith(wanted) and not n.endswith((".py", "/"))]
    z.extractall(sys.argv[2], names)
print(f"[fetch_robel] extracted {len(names)} files")
EOF

mkdir -p "$DEST"
rm -rf "$DEST/robel-scenes" "$DEST/dclaw"
cp -r "$TMP/x/robel/robel-scenes" "$TMP/x/robel/dclaw" "$DEST/"
cat > "$DEST/NOTICE" <<EOF
Files under this directory come from the robel $VERSION wheel (https://pypi.org/project/robel/),
Copyright 2019 The ROBEL Authors, licensed under the Apache License, Version 2.0.
Fetched by asymlearn scripts/fetch_robel.sh; the XML files are unmodified (the loader strips
the <?xml?> declaration at load time).
EOF
echo "$VERSION" > "$MARKER"
say "installed $(find "$DEST" -type f | wc -l) files into $DEST"
