#!/usr/bin/env bash
# The static checks of CI (scripts/test.sh runs them before the suite): ruff lint and format
# check (ruff.toml) over the code, mypy (mypy.ini) on the headless core. Extra arguments go to ruff.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${IVAE_VENV:-$root/.venv}"
cd "$root"
"$venv/bin/ruff" check "$@" src tests benchmarks docs scripts
"$venv/bin/ruff" format --check src tests benchmarks docs scripts
"$venv/bin/mypy" src/napari_ivae/core
