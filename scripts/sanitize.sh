#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer in a separate copy of the repository
# (never the shared build/), then runs the native tests and the property tests (every ISA path this machine
# has, as vitest.config.ts lays them out) against that build, with libasan preloaded into node.
#
#   bash scripts/sanitize.sh              # copy to /tmp/ng-asan, build, test
#   NODEGRAD_ASAN_DIR=/tmp/x NODEGRAD_PROPS_RUNS=3 bash scripts/sanitize.sh
#   SANITIZE_SKIP_BUILD=1 bash scripts/sanitize.sh   # re-run the tests on the last sanitized build
#
# The copy holds package.json, binding.gyp, tsconfig.json, vitest.config.ts, native/, src/ and test/ as real
# files (the loader finds build/Release/ from src/backends/native/addon.ts's own location, so src/ must live
# in the copy), and a symlink to this checkout's node_modules. Sanitizer reports go to $dest/logs/ and are
# printed at the end; any report, or any failing test, makes the script exit non-zero.
# Leak detection is off: node itself leaks by design at exit. qemu.test.ts is left out (qemu-user would
# inherit LD_PRELOAD, and ASan's shadow memory collides with qemu's guest address space).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${NODEGRAD_ASAN_DIR:-/tmp/ng-asan}"
flags='-fsanitize=address,undefined -fno-omit-frame-pointer -O1 -g'

gyp="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
libasan="$(gcc -print-file-name=libasan.so)"
[ -f "$libasan" ] || { echo "sanitize.sh: libasan.so not found (gcc -print-file-name=libasan.so gave '$libasan')" >&2; exit 2; }

mkdir -p "$dest"
echo "sanitize.sh: copying sources to $dest"
for f in package.json binding.gyp tsconfig.json vitest.config.ts; do cp "$root/$f" "$dest/$f"; done
for d in native src test; do rm -rf "${dest:?}/$d"; cp -r "$root/$d" "$dest/$d"; done
ln -sfn "$root/node_modules" "$dest/node_modules"

cd "$dest"
if [ -z "${SANITIZE_SKIP_BUILD:-}" ]; then
  echo "sanitize.sh: building with $flags (node-gyp, $dest/build)"
  # node-gyp's Makefile appends $CFLAGS/$CXXFLAGS after binding.gyp's flags (so -O1 wins over -O3) and
  # $LDFLAGS to the link of nodegrad.node; the avx2/avx512 static libraries are instrumented too.
  CFLAGS="$flags" CXXFLAGS="$flags" LDFLAGS='-fsanitize=address,undefined' \
    node "$gyp" rebuild -j 2 --nodedir="${NODEDIR:-/usr}" >"$dest/build.log" 2>&1 \
    || { grep -vE '^gyp info' "$dest/build.log" | tail -40; echo "sanitize.sh: build failed (full log: $dest/build.log)" >&2; exit 1; }
  grep -E 'warning|error' "$dest/build.log" | grep -v '^gyp info' | head -20 || true
fi
if ! nm -D build/Release/nodegrad.node | grep -c __asan_init >/dev/null; then
  echo "sanitize.sh: $dest/build/Release/nodegrad.node is not instrumented (no __asan_init)" >&2
  exit 1
fi

logs="$dest/logs"
rm -rf "$logs"
mkdir -p "$logs"
export LD_PRELOAD="$libasan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1:log_path=$logs/asan:allow_user_segv_handler=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
export NODEGRAD_PROPS_RUNS="${NODEGRAD_PROPS_RUNS:-2}"
echo "sanitize.sh: addon $(node -e 'const i=require("node-gyp-build")(process.cwd()).isaInfo(); console.log(i.isa, JSON.stringify(i.available))')"
echo "sanitize.sh: running test/native and test/props (NODEGRAD_PROPS_RUNS=$NODEGRAD_PROPS_RUNS) under LD_PRELOAD=$libasan"
status=0
node node_modules/vitest/vitest.mjs run test/native test/props --exclude test/native/qemu.test.ts || status=$?
unset LD_PRELOAD

found=0
for f in "$logs"/*; do
  [ -e "$f" ] || continue
  found=1
  echo "===== sanitizer report: $f"
  cat "$f"
done
if [ "$found" = 1 ]; then
  echo "sanitize.sh: sanitizer reports found (above)" >&2
  exit 1
fi
[ "$status" = 0 ] || { echo "sanitize.sh: tests failed under the sanitizers (exit $status), no sanitizer report" >&2; exit "$status"; }
echo "sanitize.sh: clean: no AddressSanitizer or UBSan report, all tests passed"
