#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite under a virtual display.
# Without arguments (CI: .ci/run) the static checks run first and stop the run on a finding:
# `ruff check` and `ruff format --check` (ruff.toml) over the code, then `mypy` on the
# headless core (mypy.ini).
# With arguments (a targeted run, e.g. `bash scripts/test.sh -q tests/core/test_x.py -x`) only
# pytest runs; IVAE_CHECKS=1 runs the checks as well, IVAE_CHECKS=0 skips them always.
# The whole suite runs on parallel workers (pytest-xdist, one per core); targeted runs stay
# serial unless IVAE_TEST_WORKERS is set (a number, or auto).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
venv="${IVAE_VENV:-$root/.venv}"
cd "$root"
checks="${IVAE_CHECKS:-$([ "$#" -eq 0 ] && echo 1 || echo 0)}"
if [ "$checks" = 1 ]; then
    echo "[checks] ruff check src tests benchmarks docs scripts" >&2
    if ! "$venv/bin/ruff" check src tests benchmarks docs scripts; then
        echo "[checks] FAILED: ruff found problems (above); fix them (\`ruff check --fix <file>\`" \
             "for the fixable ones) before the tests run." >&2
        exit 1
    fi
    echo "[checks] ruff format --check src tests benchmarks docs scripts" >&2
    if ! "$venv/bin/ruff" format --check src tests benchmarks docs scripts; then
        echo "[checks] FAILED: files not formatted (above); run \`ruff format <file>\`." >&2
        exit 1
    fi
    echo "[checks] mypy src/napari_ivae/core" >&2
    if ! "$venv/bin/mypy" src/napari_ivae/core; then
        echo "[checks] FAILED: mypy found type errors in the core (above); see CONTRIBUTING.md." >&2
        exit 1
    fi
fi
# pytest-xvfb starts Xvfb for the Qt tests; napari must not try a GPU-less offscreen platform.
unset QT_QPA_PLATFORM
# Installed pytest plugins are not loaded from their entry points but named here: pytest
# rewrites the asserts of every module of an entry-point plugin's distribution as it is imported
# (all of napari, zarr, npe2, ...), which without cached bytecode (a fresh venv, or
# PYTHONDONTWRITEBYTECODE) costs seconds of CPU in every worker, and zarr's plugin imports zarr.
export PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
plugins=(-p pytestqt.plugin -p napari.utils._testsupport -p pytest_xvfb)
parallel=()
if { [ "$#" -eq 0 ] || [ -n "${IVAE_TEST_WORKERS:-}" ]; } \
        && "$venv/bin/python" -c "import xdist" 2>/dev/null; then
    # The whole suite on one worker per core (each with its own Xvfb), a test file per worker
    # at a time so module fixtures are built once; one torch/BLAS thread per worker. The files
    # go out in the collection order, slowest first (tests/conftest.py), not by test count.
    parallel=(-p xdist.plugin -n "${IVAE_TEST_WORKERS:-auto}" --dist loadfile --no-loadscope-reorder)
    export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
fi
exec "$venv/bin/python" -m pytest -ra "${plugins[@]}" ${parallel[@]+"${parallel[@]}"} "$@"
