#!/usr/bin/env bash
# A kit for running native/cuda/test/run-on-gpu.sh on a bare GPU machine (no Node.js, no npm, maybe no cmake; the
# device tool carries at most 64 MiB): build-gpu-kit/ holds
#   node.xz              this machine's node binary (xz -9)
#   node_modules.tar.xz  what the GPU steps load: vitest and its dependencies, fast-check, node-gyp-build,
#                        typescript (dist/ rebuilt there if src/ changed), cmake-js, node-addon-api, node-api-headers
#   built.tar.xz         dist/, the CPU addon build/Release/nodegrad.node, the CUDA addon and harness (build-cuda/)
#   anchors/             the anchors' peers_torch.py (the W1/W2 models the GPU peer imports)
#   MANIFEST             the kit's id and the hashes of the sources the built files come from
#
#   bash scripts/gpu-kit.sh [pack]          here: build what is stale, then write build-gpu-kit/ (npm run gpu:kit)
#   bash scripts/gpu-kit.sh unpack          there (run-on-gpu.sh does it): node into .gpu-kit/bin, the rest in place;
#                                           src/ changed since the kit: dist/ rebuilt; native/ changed: the CUDA
#                                           addon is dropped, so run-on-gpu.sh rebuilds it
#   bash scripts/gpu-kit.sh build-cuda ARCH without cmake: the CUDA addon and harness with nvcc directly (the sources,
#                                           flags and defines of native/cuda/CMakeLists.txt), ARCH e.g. 90
set -euo pipefail
cd "$(dirname "$0")/.."
kit=build-gpu-kit
# Hashes of the sources each built file depends on (file contents and paths; the device's copy has no .git).
sources=(\( -name '*.ts' -o -name '*.json' -o -name '*.cu' -o -name '*.cuh' -o -name '*.cc' -o -name '*.h' -o -name '*.inc' -o -name CMakeLists.txt -o -name '*.gyp' \))
tree_hash() { find "$@" -type f "${sources[@]}" -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16; }
src_hash() { tree_hash src tsconfig.json tsconfig.build.json; }
cuda_hash() { tree_hash native/cuda native/include native/addon native/runtime native/dispatch native/kernels/ref; }
cpu_hash() { tree_hash native binding.gyp; }
manifest() { sed -n "s/^$1=//p" "$kit/MANIFEST"; }

pack() {
  command -v node >/dev/null || { echo "gpu-kit: node is needed to pack the kit" >&2; exit 1; }
  if [ ! -f dist/index.js ] || [ -n "$(find src -name '*.ts' -newer dist/index.js -print -quit)" ]; then
    echo "gpu-kit: compiling dist/ (npm run build:ts)"
    node node_modules/typescript/bin/tsc -p tsconfig.build.json
  fi
  [ -f build/Release/nodegrad.node ] || { echo "gpu-kit: the CPU addon is not built (bash scripts/build-native.sh)" >&2; exit 1; }
  if [ -n "$(find native binding.gyp -path native/cuda -prune -o -type f "${sources[@]}" -newer build/Release/nodegrad.node -print -quit)" ]; then
    echo "gpu-kit: warning: native/ is newer than build/Release/nodegrad.node (bash scripts/build-native.sh)" >&2
  fi
  # Incremental (a no-op when nothing changed). With CUDA 13 the addon needs a driver >= 580; run-on-gpu.sh rebuilds it otherwise.
  bash scripts/build-cuda.sh
  [ -f build-cuda/Release/nodegrad_cuda.node ] && [ -f build-cuda/harness ] || { echo "gpu-kit: no CUDA build (nvcc?)" >&2; exit 1; }
  mkdir -p "$kit/anchors"
  local node_bin node_version
  node_bin=$(command -v node)
  node_version=$(node --version)
  if [ ! -f "$kit/node.xz" ] || [ "$(manifest node 2>/dev/null)" != "$node_version" ]; then
    echo "gpu-kit: $node_bin ($node_version), xz -9 (about a minute)"
    xz -9 -T0 -c "$node_bin" > "$kit/node.xz"
  fi
  local lock_hash
  lock_hash=$(sha256sum package-lock.json | cut -c1-16)
  if [ ! -f "$kit/node_modules.tar.xz" ] || [ "$(manifest lock 2>/dev/null)" != "$lock_hash" ]; then
    echo "gpu-kit: node_modules for the GPU steps"
    node --input-type=module -e "$CLOSURE" vitest fast-check node-gyp-build typescript cmake-js node-addon-api node-api-headers > "$kit/modules.txt"
    tar -cf - -T "$kit/modules.txt" | xz -9 -T0 > "$kit/node_modules.tar.xz"
    rm "$kit/modules.txt"
  fi
  tar -cf - dist build/Release/nodegrad.node build-cuda/Release/nodegrad_cuda.node build-cuda/harness | xz -9 -T0 > "$kit/built.tar.xz"
  local anchors=${NODEGRAD_ANCHORS_DIR:-../shared/anchors}
  cp "$anchors/peers_torch.py" "$kit/anchors/"
  {
    echo "id=$(date -u +%Y%m%dT%H%M%SZ)-$(git rev-parse --short HEAD 2>/dev/null || echo nogit)"
    echo "node=$node_version"
    echo "lock=$lock_hash"
    echo "src=$(src_hash)"
    echo "cuda=$(cuda_hash)"
    echo "cpu=$(cpu_hash)"
    echo "cudaToolkit=$(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
  } > "$kit/MANIFEST"
  find "$kit" -type f -printf '%10s  %p\n' | sort -k2
  local total
  total=$(du -sb "$kit" | cut -f1)
  echo "gpu-kit: $kit/ is $((total / 1048576)) MiB ($total bytes; the device tool carries 64 MiB in all)"
  [ "$total" -lt $((60 * 1048576)) ] || { echo "gpu-kit: too big to carry" >&2; exit 1; }
}

# Every installed package the given ones need at run time (dependencies, optional and peer, resolved the way Node
# does from package-lock.json), as node_modules/ paths; type packages left out.
CLOSURE='
import { existsSync, readFileSync } from "node:fs";
const lock = JSON.parse(readFileSync("package-lock.json", "utf8")).packages;
// Resolution as in Node, from package folder `from`: its own node_modules, then each enclosing one, then the top.
const resolve = (name, from) => {
  for (let dir = from; ; dir = dir.includes("/node_modules/") ? dir.slice(0, dir.lastIndexOf("/node_modules/")) : "") {
    const key = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (lock[key]) return key;
    if (!dir) return null;
  }
};
const seen = new Set();
const visit = (key) => {
  if (!key || seen.has(key) || !existsSync(key)) return;  // optional packages for other platforms are not installed
  seen.add(key);
  const p = lock[key];
  for (const d of Object.keys({ ...p.dependencies, ...p.optionalDependencies, ...p.peerDependencies })) visit(resolve(d, key));
};
for (const r of process.argv.slice(1)) visit(resolve(r, ""));
console.log([...seen].filter((p) => !p.startsWith("node_modules/@types/")).sort().join("\n"));
'

unpack() {
  [ -f "$kit/MANIFEST" ] || { echo "gpu-kit: no $kit/MANIFEST (bash scripts/gpu-kit.sh pack, then carry $kit)" >&2; exit 1; }
  local id
  id=$(manifest id)
  if [ "$(cat .gpu-kit/id 2>/dev/null)" = "$id" ]; then echo "gpu-kit: kit $id already unpacked"; return; fi
  echo "gpu-kit: unpacking kit $id"
  mkdir -p .gpu-kit/bin
  xz -dc "$kit/node.xz" > .gpu-kit/bin/node
  chmod +x .gpu-kit/bin/node
  tar -xJf "$kit/node_modules.tar.xz"
  tar -xJf "$kit/built.tar.xz"
  echo "gpu-kit: node $(.gpu-kit/bin/node --version)"
  if [ "$(src_hash)" = "$(manifest src)" ]; then
    find dist -type f -exec touch {} +  # newer than this copy of src/, so bench/train.js does not recompile
  else
    echo "gpu-kit: src/ differs from the kit's: compiling dist/"
    .gpu-kit/bin/node node_modules/typescript/bin/tsc -p tsconfig.build.json
  fi
  if [ "$(cuda_hash)" != "$(manifest cuda)" ]; then
    echo "gpu-kit: native/ differs from the kit's CUDA build: its addon and harness are dropped (run-on-gpu.sh rebuilds them)"
    rm -f build-cuda/Release/nodegrad_cuda.node build-cuda/harness
  fi
  if [ "$(cpu_hash)" != "$(manifest cpu)" ]; then
    echo "gpu-kit: warning: native/ differs from the kit's CPU addon (the CPU timings and the fake-cuda tests use it as packed)"
  fi
  echo "$id" > .gpu-kit/id
}

# nvcc for everything, so only the CUDA toolkit and its host compiler are needed: the sources, flags and defines of
# native/cuda/CMakeLists.txt (Release), objects in build-cuda/nvcc/, one job per core.
build_cuda() {
  local arch=${1:?usage: gpu-kit.sh build-cuda ARCH (e.g. 90)}
  local nvcc=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
  local o=build-cuda/nvcc inc="-Inative/cuda/include -Inative/include"
  local cu="$nvcc -std=c++17 -O3 -DNDEBUG --fmad=false -lineinfo -gencode arch=compute_$arch,code=sm_$arch -gencode arch=compute_$arch,code=compute_$arch"
  local cxx="-std=gnu++17 -O3 -DNDEBUG -fPIC"
  local napi
  napi="-I$(node -p 'require("node-addon-api").include_dir') -I$(node -p 'require("node-api-headers").include_dir')"
  local cuda_inc
  cuda_inc=$(dirname "$(dirname "$(readlink -f "$nvcc")")")/include
  mkdir -p "$o" build-cuda/Release
  echo "gpu-kit: nvcc build for sm_$arch with $("$nvcc" --version | tail -n 2 | head -n 1)"
  {
    for f in native/cuda/kernels/*.cu; do
      echo "$cu -Xcompiler=-fPIC,-fvisibility=hidden -DNGCUDA_ARCHS=\\\"$arch\\\" $inc -c $f -o $o/k_$(basename "$f").o"
    done
    for f in native/cuda/addon/*.cc native/addon/args.cc; do
      echo "g++ $cxx -fvisibility=hidden -fvisibility-inlines-hidden -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS" \
        "-DNODE_ADDON_API_DISABLE_DEPRECATED -DBUILDING_NODE_EXTENSION $napi -Inative/addon -I$cuda_inc $inc -c $f -o $o/a_$(basename "$f").o"
    done
    for f in native/runtime/*.cc native/dispatch/*.cc native/kernels/ref/*.cc; do
      echo "g++ $cxx -ffp-contract=off -fno-math-errno -pthread -Inative/include -Inative -c $f -o $o/c_$(basename "$f").o"
    done
    echo "$cu $inc -Inative -c native/cuda/test/harness.cu -o $o/harness.o"
  } | xargs -d '\n' -P "$(nproc)" -I{} sh -c {}
  "$nvcc" -shared -cudart static -o build-cuda/Release/nodegrad_cuda.node "$o"/k_*.o "$o"/a_*.o \
    -Xlinker --exclude-libs,ALL -lrt -lpthread -ldl
  "$nvcc" -cudart static -o build-cuda/harness "$o"/harness.o "$o"/k_*.o "$o"/c_*.o -lrt -lpthread -ldl
  echo "gpu-kit: built build-cuda/Release/nodegrad_cuda.node and build-cuda/harness"
}

case "${1:-pack}" in
  pack) pack ;;
  unpack) unpack ;;
  build-cuda) build_cuda "${2:-}" ;;
  *) echo "usage: bash scripts/gpu-kit.sh [pack | unpack | build-cuda ARCH]" >&2; exit 2 ;;
esac
