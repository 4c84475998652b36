#!/usr/bin/env bash
# Builds a runnable zproxy tree in DEST: the compiled proxy (dist/src,
# dist/actors), bin/, conf/, package.json and production node_modules only.
# The Dockerfile's build stage runs exactly this script, and CI runs it
# outside Docker (test/deploy/runtime-tree.test.ts), so the image's layout
# and the tested layout cannot drift apart.
#
# Usage: scripts/build-runtime-tree.sh DEST
# Needs: `npm ci` already run in this checkout (node_modules present).
# Works offline: dependencies are copied from this checkout's node_modules and
# pruned to production ones (`npm prune --omit=dev --offline`). `npm ci
# --omit=dev --offline` was tried first and needs every tarball in the npm
# cache, which lockfiles written with omit-lockfile-registry-resolved (as ours
# is) cannot find offline; pruning a copy gives the same tree and never
# touches the network.
#
# Result (DEST):
#   bin/zproxy.js  conf/  dist/src/  dist/actors/  node_modules/  package.json  package-lock.json
# Run it with: node DEST/bin/zproxy.js start -c CONFIG
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ] || [ "${1#-}" != "$1" ]; then
  echo "usage: $0 DEST   (DEST must not exist, or be an empty directory)" >&2
  exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$1"

if [ ! -d "$ROOT/node_modules" ]; then
  echo "$0: $ROOT/node_modules is missing: run 'npm ci' in $ROOT first" >&2
  exit 1
fi
if [ -e "$DEST" ] && [ -n "$(ls -A "$DEST" 2>/dev/null)" ]; then
  # Refuse rather than merge: stale files from an older build would ship.
  echo "$0: $DEST exists and is not empty" >&2
  exit 1
fi
mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)"

BUILD_DIR="$(mktemp -d "${TMPDIR:-/tmp}/zproxy-build.XXXXXX")"
trap 'rm -rf "$BUILD_DIR"' EXIT

echo "== compile (npm run build, into a scratch outDir so the checkout's dist/ is left alone)"
# The package's own build script, so a change to it reaches the image too.
(cd "$ROOT" && npm run --silent build -- --outDir "$BUILD_DIR")

echo "== assemble $DEST"
mkdir -p "$DEST/dist"
# tsconfig also compiles test/ and bench/: the runtime needs neither.
cp -R "$BUILD_DIR/src" "$BUILD_DIR/actors" "$DEST/dist/"
cp -R "$ROOT/bin" "$ROOT/conf" "$DEST/"
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$DEST/"
chmod 0755 "$DEST/bin/zproxy.js"

echo "== production dependencies"
# "/." copies the contents, so a node_modules that is a symlink works too.
mkdir "$DEST/node_modules"
cp -a "$ROOT/node_modules/." "$DEST/node_modules/"
(cd "$DEST" && npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error)
# npm leaves the scope folders of removed dev packages (@types, @typescript) behind, empty.
find "$DEST/node_modules" -mindepth 1 -maxdepth 1 -type d -empty -delete

echo "== smoke check"
node "$DEST/bin/zproxy.js" --version
node "$DEST/bin/zproxy.js" validate -c "$DEST/conf/default.json"
echo "runtime tree ready in $DEST"
