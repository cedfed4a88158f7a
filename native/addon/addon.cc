/*
 * The N-API entry of nodegrad.node. At load it asks dispatch/ for the ISA path (once per process) and
 * refuses to load when NODEGRAD_ISA asks for something this CPU cannot run. Exports:
 *   isaInfo()                        -> { isa, available, cpu, forced, kernels }
 *   ...and whatever each op family's file registers with NG_REGISTER_EXPORTS (entry.h), e.g.
 *   binaryF32(opCode, a, b, out) and binaryOpCodes (binary.cc).
 * No maths and no shape logic here: arguments are checked for memory safety and passed on.
 */
#include <napi.h>

#include <string>
#include <utility>
#include <vector>

#include "entry.h"
#include "nodegrad/dispatch.h"

namespace nodegrad {

static std::vector<std::pair<std::string, std::string>>& KernelReports();

// The dispatch report: what was chosen, what else could run, and the CPU/OS features behind the choice.
static Napi::Value IsaInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ng_dispatch* d = ng_dispatch_get();
  Napi::Object result = Napi::Object::New(env);
  result.Set("isa", ng_isa_name(d->isa));

  Napi::Array available = Napi::Array::New(env);
  uint32_t k = 0;
  for (int i = NG_ISA_COUNT - 1; i >= 0; --i) {
    if (d->available & (1u << i)) available.Set(k++, ng_isa_name(static_cast<ng_isa>(i)));
  }
  result.Set("available", available);

  const ng_cpu_features& c = d->cpu;
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("x86_64", c.x86_64 != 0);
  cpu.Set("arm64", c.arm64 != 0);
  cpu.Set("sse2", c.sse2 != 0);
  cpu.Set("sse41", c.sse41 != 0);
  cpu.Set("avx", c.avx != 0);
  cpu.Set("fma", c.fma != 0);
  cpu.Set("f16c", c.f16c != 0);
  cpu.Set("bmi2", c.bmi2 != 0);
  cpu.Set("avx2", c.avx2 != 0);
  cpu.Set("avx512f", c.avx512f != 0);
  cpu.Set("avx512dq", c.avx512dq != 0);
  cpu.Set("avx512bw", c.avx512bw != 0);
  cpu.Set("avx512vl", c.avx512vl != 0);
  cpu.Set("osxsave", c.osxsave != 0);
  cpu.Set("osYmm", c.os_ymm != 0);
  cpu.Set("osZmm", c.os_zmm != 0);
  cpu.Set("neon", c.neon != 0);
  result.Set("cpu", cpu);

  result.Set("forced", d->forced != 0);
  Napi::Object kernels = Napi::Object::New(env);
  kernels.Set("binaryF32", d->kernels.f32_binary_name);
  for (const auto& r : KernelReports()) kernels.Set(r.first, r.second);
  result.Set("kernels", kernels);
  return result;
}

// Function-local so registrations from other files' static initialisers never see it unconstructed.
static std::vector<std::pair<const char*, ExportsInit>>& Registry() {
  static std::vector<std::pair<const char*, ExportsInit>> registry;
  return registry;
}

static std::vector<std::pair<std::string, std::string>>& KernelReports() {
  static std::vector<std::pair<std::string, std::string>> reports;
  return reports;
}

void ReportKernel(const char* slot, const char* name) {
  for (auto& r : KernelReports()) {
    if (r.first == slot) {
      r.second = name;
      return;
    }
  }
  KernelReports().emplace_back(slot, name);
}

int RegisterExports(const char* family, ExportsInit fn) {
  Registry().emplace_back(family, fn);
  return 0;
}

void InitAllExports(Napi::Env env, Napi::Object exports) {
  for (const auto& entry : Registry()) entry.second(env, exports);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const ng_dispatch* d = ng_dispatch_get();
  if (d->error != nullptr) throw Napi::Error::New(env, std::string("nodegrad: ") + d->error);
  exports.Set("isaInfo", Napi::Function::New(env, IsaInfo, "isaInfo"));
  InitAllExports(env, exports);
  return exports;
}

}  // namespace nodegrad

// NODE_API_MODULE pastes the init name into an identifier, so it must be unqualified.
static Napi::Object InitNodegrad(Napi::Env env, Napi::Object exports) { return nodegrad::Init(env, exports); }

NODE_API_MODULE(nodegrad, InitNodegrad)
