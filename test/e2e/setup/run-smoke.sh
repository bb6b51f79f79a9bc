#!/usr/bin/env bash
# Installs the editor e2e tools (code-server, Debian chromium) if missing, then proves the
# harness with a throwaway extension: test/e2e/harness.smoke.ts. Exits non-zero on failure.
# Screenshots: .test-output/e2e/smoke-*.png. Env: INSTALL_GUARD_E2E_HOME (tools cache).
set -euo pipefail
cd "$(dirname "$0")/../../.."

[ -d node_modules/playwright-core ] && [ -d node_modules/@vscode/vsce ] \
  || { echo "[e2e] node_modules is incomplete: run npm ci first" >&2; exit 1; }

started=$SECONDS
bash test/e2e/setup/setup-code-server.sh
echo "[e2e] setup took $((SECONDS - started))s"

started=$SECONDS
node --import tsx test/e2e/harness.smoke.ts
echo "[e2e] smoke took $((SECONDS - started))s"
