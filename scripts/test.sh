#!/usr/bin/env bash
# Installs pnpm if missing, installs dependencies, lints, typechecks and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export COREPACK_INTEGRITY_KEYS=0
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10
pnpm install --frozen-lockfile
pnpm lint
pnpm typecheck
pnpm test
