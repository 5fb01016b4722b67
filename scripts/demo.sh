#!/usr/bin/env bash
# Set up (if needed) and run the main job: napari with the plugin and sample data, or, on a
# machine without a display, the whole pipeline headless, writing layers and a screenshot to
# ./demo-out (or the folder given with --out).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
venv="${IVAE_VENV:-$root/.venv}"
cd "$root"
exec "$venv/bin/napari-ivae" demo "$@"
