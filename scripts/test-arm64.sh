#!/usr/bin/env bash
# Cross-compiles the addon for arm64 (NEON kernels) with Debian's aarch64 cross compiler and runs the kernel
# tests under qemu-aarch64 with Debian's arm64 node (v18, N-API 8 is enough):
#   1. the exactness child test/native/child/binary-exact.mjs on every path the emulated CPU runs (neon, scalar);
#   2. the property suite test/props (native vs reference, every kernel), compiled to JS with tsc and run by a
#      small vitest stand-in (plain node, no vitest: vitest 4 needs node 20), once per path.
# Nothing is installed system-wide: the arm64 node and its libraries are `apt-get download`ed and unpacked
# into a private sysroot (installing nodejs:arm64 would replace the machine's amd64 node), which needs
# `dpkg --add-architecture arm64 && apt-get update` once. Everything else lives in $NODEGRAD_ARM64_DIR.
#
#   bash scripts/test-arm64.sh                        # /tmp/ng-arm64, NODEGRAD_PROPS_RUNS=1
#   NODEGRAD_PROPS_RUNS=3 bash scripts/test-arm64.sh
# Needs: aarch64-linux-gnu-g++ (g++-aarch64-linux-gnu), qemu-aarch64 (qemu-user), apt-get with arm64 enabled.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${NODEGRAD_ARM64_DIR:-/tmp/ng-arm64}"
sysroot="$dest/sysroot"
export NODEGRAD_PROPS_RUNS="${NODEGRAD_PROPS_RUNS:-1}"

for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "test-arm64.sh: $tool not found (apt-get install g++-aarch64-linux-gnu qemu-user)" >&2; exit 2; }
done
gyp="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js

mkdir -p "$dest"
cd "$dest"

# --- arm64 node in a private sysroot ------------------------------------------------------------------
if [ ! -x "$sysroot/usr/bin/node" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "test-arm64.sh: arm64 packages are not enabled; run once: dpkg --add-architecture arm64 && apt-get update" >&2
    exit 2
  fi
  echo "test-arm64.sh: downloading Debian's arm64 node and its libraries into $sysroot"
  mkdir -p debs "$sysroot"
  (cd debs && apt-get download nodejs:arm64 libnode108:arm64 libbrotli1:arm64 libc-ares2:arm64 libc6:arm64 libicu72:arm64 \
    libnghttp2-14:arm64 libssl3:arm64 libstdc++6:arm64 libgcc-s1:arm64 libuv1:arm64 zlib1g:arm64 \
    node-acorn node-cjs-module-lexer node-undici >/dev/null 2>&1) || { echo "test-arm64.sh: apt-get download failed" >&2; exit 2; }
  for d in debs/*.deb; do dpkg -x "$d" "$sysroot"; done
fi
qnode() { qemu-aarch64 -L "$sysroot" "$sysroot/usr/bin/node" "$@"; }
echo "test-arm64.sh: $(qnode -e 'console.log(`node ${process.version} ${process.arch}`)') under $(qemu-aarch64 --version | head -1)"

# --- cross-build ---------------------------------------------------------------------------------------
echo "test-arm64.sh: cross-compiling the addon (aarch64-linux-gnu-g++, node-gyp --arch=arm64)"
for f in package.json binding.gyp tsconfig.json; do cp "$root/$f" "$f"; done
for d in native src test; do rm -rf "${dest:?}/$d"; cp -r "$root/$d" "$d"; done
ln -sfn "$root/node_modules" node_modules
CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
  node "$gyp" rebuild --arch=arm64 -j 2 --nodedir="${NODEDIR:-/usr}" >build.log 2>&1 \
  || { grep -vE '^gyp info' build.log | tail -40; echo "test-arm64.sh: cross build failed (log: $dest/build.log)" >&2; exit 1; }
file build/Release/nodegrad.node | grep -q 'ARM aarch64' || { echo "test-arm64.sh: build/Release/nodegrad.node is not an arm64 object" >&2; exit 1; }
ls build/Release/nodegrad_neon.a >/dev/null

# --- JS for node 18: tsc emits src/ and test/ into out/, which gets the build and node_modules ----------
rm -rf out
node "$root/node_modules/typescript/bin/tsc" -p tsconfig.json --outDir out --noEmit false --declaration false --sourceMap false >tsc.log 2>&1 || true
[ -f out/test/props/arb.js ] || { cat tsc.log; echo "test-arm64.sh: tsc did not emit the props" >&2; exit 1; }
cp package.json out/
ln -sfn "$dest/build" out/build
ln -sfn "$root/node_modules" out/node_modules
mkdir -p out/test/native/child
cp "$root"/test/native/child/binary-exact.mjs out/test/native/child/

# A vitest stand-in: describe / it / it.skipIf / afterAll, run in order, failures counted.
cat >out/vitest-shim.mjs <<'EOF'
const tests = [];
const afters = [];
const path = [];
export function describe(name, fn) { path.push(name); try { fn(); } finally { path.pop(); } }
export function it(name, fn) { tests.push({ name: [...path, name].join(' > '), fn }); }
it.skipIf = (cond) => (name, fn) => (cond ? tests.push({ name: [...path, name].join(' > '), skip: true }) : it(name, fn));
export const test = it;
export function afterAll(fn) { afters.push(fn); }
export function expect() { throw new Error('vitest-shim: expect() is not available'); }
export async function runRegistered() {
  let failed = 0, passed = 0, skipped = 0;
  for (const t of tests.splice(0)) {
    if (t.skip) { skipped++; console.log(`  - ${t.name} (skipped)`); continue; }
    const t0 = Date.now();
    try { await t.fn(); passed++; console.log(`  ok ${t.name} (${Date.now() - t0} ms)`); }
    catch (e) { failed++; console.log(`  FAIL ${t.name}\n${String(e && e.stack || e).split('\n').slice(0, 12).join('\n')}`); }
  }
  for (const f of afters.splice(0)) await f();
  return { failed, passed, skipped };
}
EOF
cat >out/vitest-loader.mjs <<'EOF'
export async function resolve(specifier, context, next) {
  if (specifier === 'vitest') return { url: new URL('./vitest-shim.mjs', import.meta.url).href, shortCircuit: true };
  return next(specifier, context);
}
EOF
cat >out/run-props.mjs <<'EOF'
import { readdirSync } from 'node:fs';
import { runRegistered } from './vitest-shim.mjs';
const files = readdirSync(new URL('./test/props/', import.meta.url)).filter((f) => f.endsWith('.props.test.js')).sort();
let failed = 0, passed = 0, skipped = 0;
for (const f of files) {
  console.log(`${f}`);
  await import(`./test/props/${f}`);
  const r = await runRegistered();
  failed += r.failed; passed += r.passed; skipped += r.skipped;
}
console.log(`props: ${passed} passed, ${failed} failed, ${skipped} skipped (${files.length} files)`);
process.exit(failed ? 1 : 0);
EOF

# --- run -----------------------------------------------------------------------------------------------
status=0
paths=$(cd out && qnode -e 'console.log(require("node-gyp-build")(process.cwd()).isaInfo().available.join(" "))')
echo "test-arm64.sh: paths the emulated CPU runs: $paths"
for isa in $paths; do
  echo "== NODEGRAD_ISA=$isa: binary exactness child"
  if out_json=$(cd out && NODEGRAD_ISA=$isa qnode test/native/child/binary-exact.mjs | tail -1); then
    echo "$out_json" | node -e '
      const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
      if (r.loadError) { console.log("load error: " + r.loadError); process.exit(1); }
      console.log(`isa ${r.info.isa} kernels ${JSON.stringify(r.info.kernels)}: ${r.checked} elements checked, ${r.failures.length} failures`);
      if (r.failures.length) { console.log(JSON.stringify(r.failures.slice(0, 5))); process.exit(1); }' || status=1
  else
    echo "binary-exact.mjs crashed under qemu"; status=1
  fi
  echo "== NODEGRAD_ISA=$isa: property suite (NODEGRAD_PROPS_RUNS=$NODEGRAD_PROPS_RUNS)"
  (cd out && NODEGRAD_ISA=$isa qnode --no-warnings --experimental-loader ./vitest-loader.mjs run-props.mjs) || status=1
done
[ "$status" = 0 ] && echo "test-arm64.sh: all arm64 checks passed" || echo "test-arm64.sh: FAILED" >&2
exit "$status"
