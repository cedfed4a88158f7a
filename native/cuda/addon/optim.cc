// Optimizer entries, the CPU addon's (native/addon/optim.cc) with device buffers, updated in place:
//   adamUpdateF32(w, g, m, v, vHat | null, alpha, c1, c2, epsilon, keep, probe | null)
//   sgdUpdateF32(w, g, velocity | null, learningRate, momentum, nesterov, keep, probe | null)
// All buffers of w's length and pairwise distinct. Bit-identical to the CPU's (and the JS loops'). `probe`, one
// float32 on the device, guards the update: when it is NaN or infinite nothing is written.
#include <cstdint>

#include "args.h"
#include "buffer.h"
#include "entry.h"
#include "ngcuda/optim.h"

namespace ngcuda_addon {

namespace {

// The optional guard: one float32 (null: no guard).
DeviceBuffer* ProbeArg(const Napi::CallbackInfo& info, std::size_t index, const char* fn) {
  DeviceBuffer* probe = OptionalBufferArg(info, index, fn, "probe", kFloat32);
  if (probe) nodegrad::ExpectLength(info.Env(), fn, "probe", probe->length, 1, "1");
  return probe;
}

Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "adamUpdateF32";
  nodegrad::ExpectArgCount(info, fn, 11, "w, g, m, v, vHat, alpha, c1, c2, epsilon, keep, probe");
  DeviceBuffer* w = BufferArg(info, 0, fn, "w", kFloat32);
  DeviceBuffer* g = BufferArg(info, 1, fn, "g", kFloat32);
  DeviceBuffer* m = BufferArg(info, 2, fn, "m", kFloat32);
  DeviceBuffer* v = BufferArg(info, 3, fn, "v", kFloat32);
  DeviceBuffer* vh = OptionalBufferArg(info, 4, fn, "vHat", kFloat32);
  const double alpha = nodegrad::NumberArg(info, 5, fn, "alpha");
  const double c1 = nodegrad::NumberArg(info, 6, fn, "c1");
  const double c2 = nodegrad::NumberArg(info, 7, fn, "c2");
  const double eps = nodegrad::NumberArg(info, 8, fn, "epsilon");
  const double keep = nodegrad::NumberArg(info, 9, fn, "keep");
  DeviceBuffer* probe = ProbeArg(info, 10, fn);
  nodegrad::ExpectLength(env, fn, "g", g->length, w->length, "w's length");
  nodegrad::ExpectLength(env, fn, "m", m->length, w->length, "w's length");
  nodegrad::ExpectLength(env, fn, "v", v->length, w->length, "w's length");
  if (vh) nodegrad::ExpectLength(env, fn, "vHat", vh->length, w->length, "w's length");
  DeviceBuffer* all[] = {w, g, m, v, vh, probe};
  const char* const names[] = {"w", "g", "m", "v", "vHat", "probe"};
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < i; ++j) ExpectDistinct(env, fn, names[i], all[i], names[j], all[j]);
  }
  ngcuda::AdamUpdateF32(w->f32(), g->f32(), m->f32(), v->f32(), vh ? vh->f32() : nullptr,
                        static_cast<std::int64_t>(w->length), alpha, c1, c2, eps, keep, probe ? probe->f32() : nullptr);
  return env.Undefined();
}

Napi::Value SgdUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "sgdUpdateF32";
  nodegrad::ExpectArgCount(info, fn, 8, "w, g, velocity, learningRate, momentum, nesterov, keep, probe");
  DeviceBuffer* w = BufferArg(info, 0, fn, "w", kFloat32);
  DeviceBuffer* g = BufferArg(info, 1, fn, "g", kFloat32);
  DeviceBuffer* vel = OptionalBufferArg(info, 2, fn, "velocity", kFloat32);
  const double lr = nodegrad::NumberArg(info, 3, fn, "learningRate");
  const double mu = nodegrad::NumberArg(info, 4, fn, "momentum");
  const bool nesterov = nodegrad::BoolArg(info, 5, fn, "nesterov");
  const double keep = nodegrad::NumberArg(info, 6, fn, "keep");
  DeviceBuffer* probe = ProbeArg(info, 7, fn);
  nodegrad::ExpectLength(env, fn, "g", g->length, w->length, "w's length");
  if (vel) nodegrad::ExpectLength(env, fn, "velocity", vel->length, w->length, "w's length");
  DeviceBuffer* all[] = {w, g, vel, probe};
  const char* const names[] = {"w", "g", "velocity", "probe"};
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < i; ++j) ExpectDistinct(env, fn, names[i], all[i], names[j], all[j]);
  }
  ngcuda::SgdUpdateF32(w->f32(), g->f32(), vel ? vel->f32() : nullptr, static_cast<std::int64_t>(w->length), lr, mu,
                       nesterov, keep, probe ? probe->f32() : nullptr);
  return env.Undefined();
}

void InitOptim(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "adamUpdateF32", AdamUpdate);
  Export(env, exports, "sgdUpdateF32", SgdUpdate);
}

}  // namespace

NGC_REGISTER_EXPORTS(optim, InitOptim);

}  // namespace ngcuda_addon
