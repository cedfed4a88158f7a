#!/usr/bin/env bash
# Incremental build of the addon (configure re-reads the source folders, so new files are picked up).
# A lock serialises concurrent builds in the shared build/ folder; `npm run build:native` is the clean rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."
gyp="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
log=$(mktemp)
trap 'rm -f "$log"' EXIT
exec 9>/tmp/nodegrad-build.lock
flock 9
status=0
{ node "$gyp" configure --nodedir="${NODEDIR:-/usr}" && node "$gyp" build -j 2 --nodedir="${NODEDIR:-/usr}" "$@"; } >"$log" 2>&1 || status=$?
grep -vE '^gyp info|^make(\[[0-9]+\])?: (Entering|Leaving)' "$log" || true
exit "$status"
