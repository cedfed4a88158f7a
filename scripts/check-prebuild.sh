#!/usr/bin/env bash
# Proves the prebuilt-binary path end to end: `npm run prebuild` (prebuildify --napi --strip --tag-libc)
# writes prebuilds/<platform>-<arch>/, then a copy of the package WITHOUT build/ (package.json, dist/,
# prebuilds/ and the one runtime dependency node-gyp-build) loads the addon from prebuilds/ through the
# package's own loader, prints the resolved .node path and its ISA report, and runs one kernel.
# Usage: scripts/check-prebuild.sh   (exits non-zero on any failure)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

echo "== npm run prebuild"
npm run prebuild

tuple="$(node -p 'process.platform + "-" + process.arch')"
shopt -s nullglob
binaries=(prebuilds/"$tuple"/*.node)
if [ "${#binaries[@]}" -eq 0 ]; then
  echo "check-prebuild: FAIL: no prebuilds/$tuple/*.node after npm run prebuild" >&2
  exit 1
fi
echo "== prebuilds/$tuple:"
ls -l "prebuilds/$tuple"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/nodegrad-prebuild.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# The compiled loader: dist/ if `npm run build` made it, else compile src/ into the copy. Type errors in
# unrelated files do not stop tsc emitting, so only a missing loader file is fatal.
if [ -f dist/backends/native/index.js ]; then
  cp -R dist "$tmp/dist"
else
  echo "== no dist/: compiling src/ into the copy"
  npx tsc -p tsconfig.build.json --outDir "$tmp/dist" || echo "check-prebuild: tsc reported errors (see above); continuing with what it emitted" >&2
  if [ ! -f "$tmp/dist/backends/native/index.js" ]; then
    echo "check-prebuild: FAIL: tsc did not emit dist/backends/native/index.js" >&2
    exit 1
  fi
fi
cp package.json "$tmp/"
cp -R prebuilds "$tmp/prebuilds"
# Runtime needs only node-gyp-build (node-addon-api is a build-time header library).
mkdir -p "$tmp/node_modules"
cp -R node_modules/node-gyp-build "$tmp/node_modules/"
if [ -e "$tmp/build" ]; then
  echo "check-prebuild: FAIL: build/ leaked into the copy" >&2
  exit 1
fi

echo "== loading from $tmp"
cd "$tmp"
node --input-type=module -e '
import { loadNativeBackend, nativeInfo } from "./dist/backends/native/index.js";
const fail = (msg) => { console.error("check-prebuild: FAIL: " + msg); process.exit(1); };
const r = loadNativeBackend();
if (!r.backend) fail("the native backend did not load: " + r.error);
console.log("addon:     " + r.addonPath);
if (!/[\\/]prebuilds[\\/]/.test(r.addonPath ?? "")) fail("the addon did not come from prebuilds/");
const info = nativeInfo();
console.log("isa:       " + info.isa + (info.forced ? " (forced by NODEGRAD_ISA)" : ""));
console.log("available: " + info.available.join(", "));
console.log("kernel:    " + info.kernels.binaryF32);
const y = r.backend.binary("add", { data: Float32Array.of(1, 2, 3), shape: [3] }, { data: Float32Array.of(10, 20, 30), shape: [3] }, [3]);
if (Array.from(y.data).join() !== "11,22,33") fail("add gave " + Array.from(y.data).join());
console.log("add:       [1,2,3] + [10,20,30] = [" + Array.from(y.data).join(",") + "]");
'
echo "check-prebuild: OK"
