#!/usr/bin/env bash
# Idempotent set-up used by scripts/demo.sh and scripts/test.sh:
#   1. system libraries for a virtual display (Debian/Ubuntu, only as root and only if missing),
#   2. a virtual environment in .venv (override with IVAE_VENV),
#   3. torch==2.13.0 first (a local CPU wheel on our machines; an unpinned torch would pull
#      several GB of CUDA packages), then this package with its test extra.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${IVAE_VENV:-$root/.venv}"
python="${PYTHON:-python3}"

qt_libs="xvfb xauth libgl1 libegl1 libfontconfig1 libdbus-1-3 libxkbcommon-x11-0 libxcb-icccm4 \
libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0 \
libxcb-shape0 libxcb-cursor0"
if [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    missing=""
    for p in $qt_libs; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        echo "[setup] apt-get install$missing" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
    fi
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "[setup] creating virtual environment $venv" >&2
    "$python" -m venv "$venv"
fi
stamp="$venv/.ivae-setup-stamp"
want="$(cat "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "[setup] installing torch==2.13.0 and napari-ivae[test] into $venv" >&2
    "$venv/bin/python" -m pip install -q --upgrade pip >&2
    "$venv/bin/python" -m pip install -q "torch==2.13.0" >&2
    "$venv/bin/python" -m pip install -q -e "$root[test]" >&2
    echo "$want" > "$stamp"
fi
# the package's bytecode written once: with PYTHONDONTWRITEBYTECODE set (as on some machines)
# every command would compile its ~50 modules again (0.1 s of each `napari-ivae detect`)
"$venv/bin/python" -m compileall -q "$root/src" >&2 || true
