#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite under a virtual display.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
venv="${IVAE_VENV:-$root/.venv}"
cd "$root"
# pytest-xvfb starts Xvfb for the Qt tests; napari must not try a GPU-less offscreen platform.
unset QT_QPA_PLATFORM
exec "$venv/bin/python" -m pytest -ra "$@"
