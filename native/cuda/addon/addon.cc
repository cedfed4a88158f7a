/*
 * The N-API entry of nodegrad_cuda.node, the optional CUDA backend. Loading it never touches the GPU: the CUDA
 * runtime is linked statically and finds the driver at the first call, so a machine without a GPU or driver loads
 * the addon and gets { ok: false, reason } from probe(). Exports:
 *   probe()                 -> { ok, reason?, device? }   never throws
 *   deviceInfo()            -> { name, computeCapability, smCount, totalMemory, driverVersion, runtimeVersion,
 *                                memoryPools, architectures }
 *   synchronize()           waits for every queued kernel (errors of asynchronous kernels surface here)
 *   memoryInfo()            -> { bufferBytes, scratchBytes, freeBytes, totalBytes }
 *   setTf32(on), tf32()     tensor cores in TF32 for matmul / conv (off by default, NODEGRAD_CUDA_TF32=1)
 *   releaseScratch()        frees the kernels' reusable scratch memory (im2col columns, partial sums)
 *   takeIndexError()        -> null | { op, argument, position, value, bound }: waits for the queued kernels and
 *                           takes (reads and clears) the first bad index a checking kernel reported since the last
 *                           call (gather, scatterAddF32, the int-label cross-entropy entries; ngcuda/common.h)
 *   buffers (buffer.cc) and one entry per kernel family (gemm.cc, conv.cc, pool.cc, norm.cc, eltwise.cc, optim.cc).
 * No maths and no shape logic here: arguments are checked for memory safety and handed to ngcuda::.
 */
#include <cuda_runtime.h>
#include <napi.h>

#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "buffer.h"
#include "entry.h"
#include "ngcuda/common.h"

namespace ngcuda_addon {

namespace {

struct Entry {
  const char* name;
  EntryFn fn;
};

std::vector<std::pair<const char*, ExportsInit>>& Registry() {
  static std::vector<std::pair<const char*, ExportsInit>> registry;
  return registry;
}

// One entry at a time in the process: worker threads share the stream and the kernels' scratch buffers, and an
// entry's launches must reach the stream together (entries only queue work, so the lock is held briefly).
std::mutex g_entry_mutex;

Napi::Value CallEntry(const Napi::CallbackInfo& info) {
  const Entry* e = static_cast<const Entry*>(info.Data());
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(g_entry_mutex);
  try {
    return e->fn(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const ngcuda::CudaError& err) {
    Napi::Error je = Napi::Error::New(env, std::string(e->name) + ": " + err.what());
    je.Value().Set("code", Napi::String::New(env, "ERR_NODEGRAD_CUDA"));
    throw je;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, std::string(e->name) + ": out of host memory");
  } catch (const std::exception& err) {
    throw Napi::Error::New(env, std::string(e->name) + ": " + err.what());
  }
}

Napi::Object InfoObject(Napi::Env env, const ngcuda::DeviceInfo& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ordinal", d.ordinal);
  o.Set("name", d.name);
  Napi::Array cc = Napi::Array::New(env, 2);
  cc.Set(0u, d.major);
  cc.Set(1u, d.minor);
  o.Set("computeCapability", cc);
  o.Set("smCount", d.sm_count);
  o.Set("totalMemory", static_cast<double>(d.total_memory));
  o.Set("driverVersion", d.driver_version);
  o.Set("runtimeVersion", d.runtime_version);
  o.Set("memoryPools", d.memory_pools);
  o.Set("architectures", ngcuda::CompiledArchitectures());
  return o;
}

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  try {
    const ngcuda::DeviceInfo& d = ngcuda::Init();
    r.Set("ok", true);
    r.Set("device", InfoObject(env, d));
  } catch (const std::exception& e) {
    r.Set("ok", false);
    r.Set("reason", e.what());
  }
  return r;
}

Napi::Value DeviceInfoJs(const Napi::CallbackInfo& info) { return InfoObject(info.Env(), ngcuda::Init()); }

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  ngcuda::Synchronize();
  return info.Env().Undefined();
}

Napi::Value MemoryInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ngcuda::Init();
  std::size_t free_b = 0, total_b = 0;
  ngcuda::Check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
  Napi::Object o = Napi::Object::New(env);
  o.Set("bufferBytes", static_cast<double>(LiveBufferBytes()));
  o.Set("scratchBytes", static_cast<double>(ngcuda::ScratchBytes()));
  o.Set("freeBytes", static_cast<double>(free_b));
  o.Set("totalBytes", static_cast<double>(total_b));
  return o;
}

Napi::Value SetTf32(const Napi::CallbackInfo& info) {
  nodegrad::ExpectArgCount(info, "setTf32", 1, "on");
  ngcuda::SetTf32(nodegrad::BoolArg(info, 0, "setTf32", "on"));
  return info.Env().Undefined();
}

Napi::Value Tf32(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), ngcuda::Tf32Enabled()); }

Napi::Value ReleaseScratch(const Napi::CallbackInfo& info) {
  ngcuda::ReleaseScratch();
  return info.Env().Undefined();
}

Napi::Value TakeIndexError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ngcuda::IndexError err;
  if (!ngcuda::TakeIndexError(&err)) return env.Null();
  const char* op = "gather";
  const char* arg = "indices";
  switch (err.check) {
    case ngcuda::kCheckGather: break;
    case ngcuda::kCheckScatterAdd: op = "scatterAdd"; break;
    case ngcuda::kCheckCrossEntropy: op = "softmaxCrossEntropy"; arg = "labels"; break;
    case ngcuda::kCheckCrossEntropyBackward: op = "softmaxCrossEntropyBackward"; arg = "labels"; break;
    default: throw Napi::Error::New(env, "takeIndexError: unknown check code " + std::to_string(err.check));
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("op", op);
  o.Set("argument", arg);
  o.Set("position", static_cast<double>(err.position));
  o.Set("value", static_cast<double>(err.value));
  o.Set("bound", static_cast<double>(err.bound));
  return o;
}

void InitRuntime(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "probe", Probe);
  Export(env, exports, "deviceInfo", DeviceInfoJs);
  Export(env, exports, "synchronize", Synchronize);
  Export(env, exports, "memoryInfo", MemoryInfo);
  Export(env, exports, "setTf32", SetTf32);
  Export(env, exports, "tf32", Tf32);
  Export(env, exports, "releaseScratch", ReleaseScratch);
  Export(env, exports, "takeIndexError", TakeIndexError);
}

}  // namespace

NGC_REGISTER_EXPORTS(runtime, InitRuntime);

int RegisterExports(const char* family, ExportsInit fn) {
  Registry().emplace_back(family, fn);
  return 0;
}

void InitAllExports(Napi::Env env, Napi::Object exports) {
  for (const auto& entry : Registry()) entry.second(env, exports);
}

void Export(Napi::Env env, Napi::Object exports, const char* name, EntryFn fn) {
  // One small record per entry and module instance (a worker thread loads its own), alive as long as the process.
  Entry* e = new Entry{name, fn};
  exports.Set(name, Napi::Function::New(env, CallEntry, name, e));
}

}  // namespace ngcuda_addon

static Napi::Object InitNodegradCuda(Napi::Env env, Napi::Object exports) {
  ngcuda_addon::InitAllExports(env, exports);
  return exports;
}

NODE_API_MODULE(nodegrad_cuda, InitNodegradCuda)
