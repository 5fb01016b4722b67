#!/usr/bin/env bash
# Lint with ruff (rules in ruff.toml): `pip install ruff` then `bash scripts/lint.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec ruff check "$@" .
