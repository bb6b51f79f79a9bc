#!/usr/bin/env bash
# Installs VS Code for the web (code-server) and Debian's chromium for the editor end-to-end
# tests, into a cache directory outside the repository. Idempotent: every finished step leaves
# a stamp file and is skipped on the next run.
#
# Why by hand: code-server's npm package builds its native modules and downloads ripgrep from
# GitHub in its postinstall. Here only the npm registry and Debian's packages are reachable, and
# the project never runs install scripts blindly, so we install with scripts off and do the
# needed parts of node_modules/code-server/postinstall.sh ourselves:
#   - lib/vscode: `npm install --omit=dev`, then node_modules.asar -> node_modules, and the
#     bin/remote-cli/code-server and bin/helpers/browser.sh symlinks;
#   - lib/vscode/extensions: `npm install --omit=dev` (only TypeScript, for the built-in TS/HTML
#     extensions; its postinstall.mjs only trims TypeScript, which we skip);
#   - the native modules that its install scripts would have built (node-gyp, Debian headers);
#   - @vscode/ripgrep's binary, taken from Debian's ripgrep instead of GitHub.
#
# Usage: test/e2e/setup/setup-code-server.sh            (prints the code-server entry on its last line)
# Env:   INSTALL_GUARD_E2E_HOME  cache root (default $HOME/.cache/install-guard-e2e)
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
E2E_HOME="${INSTALL_GUARD_E2E_HOME:-$HOME/.cache/install-guard-e2e}"

log() { printf '[e2e-setup] %s\n' "$*"; }
die() { printf '[e2e-setup] ERROR: %s\n' "$*" >&2; exit 1; }

NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
# code-server 4.100.x runs only on Node 20 (its postinstall refuses anything else).
[ "$NODE_MAJOR" = 20 ] || die "code-server@$CODE_SERVER_VERSION needs Node 20, this is $(node --version)"
# Native modules are built for one Node ABI: keep one tree per ABI so a Node upgrade rebuilds.
NODE_ABI="$(node -p 'process.versions.modules')"
PREFIX="$E2E_HOME/code-server-$CODE_SERVER_VERSION-node-abi$NODE_ABI"
CS="$PREFIX/node_modules/code-server"
VSCODE="$CS/lib/vscode"
STAMPS="$PREFIX/.stamps"

mkdir -p "$STAMPS"
# Two runs at once (a developer and a test script) must not interleave npm installs.
exec 9>"$E2E_HOME/.setup.lock"
flock 9

# Steps in order. Redoing one step invalidates every later one (their stamps are removed).
STEPS=(npm-code-server npm-vscode npm-vscode-extensions ripgrep native-vscode argon2 symlinks verify)

run_step() {
  local name="$1" description="$2"; shift 2
  if [ -f "$STAMPS/$name" ]; then
    log "skip  $name: $description (done $(cat "$STAMPS/$name"))"
    return
  fi
  log "run   $name: $description"
  local started=$SECONDS from=0 s
  # This step and every later one must run again (they build on what this one makes).
  for s in "${STEPS[@]}"; do
    if [ "$s" = "$name" ]; then from=1; fi
    if [ "$from" = 1 ]; then rm -f "$STAMPS/$s"; fi
  done
  "$@"
  date -u +%Y-%m-%dT%H:%M:%SZ > "$STAMPS/$name"
  log "done  $name in $((SECONDS - started))s"
}

# --- Debian packages ---------------------------------------------------------------------------
# chromium: the browser playwright-core drives; ripgrep: VS Code's search binary; the -dev
# packages are headers for the native modules (libkrb5-dev for kerberos; libx11/libxkbfile/
# libsecret for the keymap/keychain modules VS Code builds on some versions); python3, make, g++
# for node-gyp; fonts so screenshots show readable text.
DEBIAN_PACKAGES=(chromium ripgrep libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev
  python3 make g++ pkg-config fonts-liberation fonts-dejavu-core)

ensure_debian_packages() {
  local missing=() p
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" = 0 ]; then
    log "skip  debian: all packages present (${DEBIAN_PACKAGES[*]})"
    return
  fi
  log "run   debian: apt-get install ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "not root and no sudo: install ${missing[*]} by hand"
    sudo=sudo
  fi
  local started=$SECONDS
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "done  debian in $((SECONDS - started))s"
}

# --- npm steps -----------------------------------------------------------------------------------
NPM_FLAGS=(--ignore-scripts --no-audit --no-fund --loglevel=error)

npm_code_server() {
  # A private package.json of our own, so npm never walks up into a project.
  printf '{ "private": true, "description": "install-guard e2e: code-server" }\n' > "$PREFIX/package.json"
  (cd "$PREFIX" && npm install "${NPM_FLAGS[@]}" "code-server@$CODE_SERVER_VERSION")
}

npm_vscode() {
  (cd "$VSCODE" && npm install --omit=dev "${NPM_FLAGS[@]}")
}

npm_vscode_extensions() {
  (cd "$VSCODE/extensions" && npm install --omit=dev "${NPM_FLAGS[@]}")
}

install_ripgrep() {
  # @vscode/ripgrep's postinstall would download rg from GitHub; Debian ships the same tool.
  local rg
  rg="$(command -v rg)" || die "rg not found (Debian package ripgrep)"
  mkdir -p "$VSCODE/node_modules/@vscode/ripgrep/bin"
  cp "$rg" "$VSCODE/node_modules/@vscode/ripgrep/bin/rg"
  chmod 755 "$VSCODE/node_modules/@vscode/ripgrep/bin/rg"
}

# The native modules VS Code's server loads on Linux. Left out on purpose: @parcel/watcher (its
# Linux binary ships prebuilt in @parcel/watcher-linux-x64-glibc from the registry),
# @vscode/deviceid (native code only on Windows/macOS), @vscode/windows-*.
NATIVE_MODULES=(@vscode/spdlog node-pty native-watchdog kerberos)

native_rebuild() {
  local log="$PREFIX/$1.log" dir="$2"; shift 2
  # npm_config_yes: npm fetches node-gyp through npx, and ~/.npmrc may say yes=false.
  # npm_config_build_from_source: prebuild-install/node-pre-gyp skip their GitHub download.
  # --foreground-scripts: the compiler output goes to the log, for when a header is missing.
  (cd "$dir" && npm_config_yes=true npm_config_build_from_source=true \
    npm rebuild --foreground-scripts --no-audit --no-fund "$@" > "$log" 2>&1) \
    || { tail -40 "$log" >&2; die "npm rebuild $* failed (full log: $log)"; }
  log "      log: $log"
}

native_vscode() { native_rebuild native-vscode "$VSCODE" "${NATIVE_MODULES[@]}"; }
native_argon2() { native_rebuild argon2 "$PREFIX" argon2; }  # code-server imports argon2 at startup

make_symlinks() {
  # From code-server's postinstall.sh (Linux branch).
  ln -sfn node_modules "$VSCODE/node_modules.asar"
  ln -sfn code-linux.sh "$VSCODE/bin/remote-cli/code-server"
  ln -sfn browser-linux.sh "$VSCODE/bin/helpers/browser.sh"
}

verify_install() {
  local m
  for m in "${NATIVE_MODULES[@]}"; do
    (cd "$VSCODE" && node -e 'require(process.argv[1])' "$m") || die "native module $m does not load"
  done
  (cd "$PREFIX" && node -e 'require("argon2")') || die "argon2 does not load"
  # Whole output captured, then cut: `| head -1` closes the pipe early, and under pipefail
  # the writer's "broken pipe" would fail the step at random.
  local out
  out=$("$VSCODE/node_modules/@vscode/ripgrep/bin/rg" --version) || die "rg does not run"
  echo "${out%%$'\n'*}"
  out=$(node "$CS/out/node/entry.js" --version) || die "code-server --version failed"
  echo "${out%%$'\n'*}"
}

ensure_debian_packages
run_step npm-code-server       "npm install --ignore-scripts code-server@$CODE_SERVER_VERSION in $PREFIX" npm_code_server
run_step npm-vscode            "npm install --omit=dev --ignore-scripts in lib/vscode" npm_vscode
run_step npm-vscode-extensions "npm install --omit=dev --ignore-scripts in lib/vscode/extensions" npm_vscode_extensions
run_step ripgrep               "copy Debian's rg to lib/vscode/node_modules/@vscode/ripgrep/bin/rg" install_ripgrep
run_step native-vscode         "npm rebuild ${NATIVE_MODULES[*]} in lib/vscode (node-gyp, ~1 min)" native_vscode
run_step argon2                "npm rebuild argon2 at the top level" native_argon2
run_step symlinks              "node_modules.asar and bin script symlinks (code-server's postinstall.sh)" make_symlinks
run_step verify                "load the native modules, run rg and code-server --version" verify_install
log "code-server entry: $CS/out/node/entry.js"
echo "$CS/out/node/entry.js"
