// Optimizer update entries: adamUpdateF32 and sgdUpdateF32. Each checks every array (Float32Arrays over live,
// non-shared buffers, all of w's length, no two sharing memory) and number, then calls the driver
// (native/runtime/optim.h), which updates w and the slots in place.
#include <stddef.h>

#include "args.h"
#include "entry.h"
#include "../runtime/optim.h"

namespace nodegrad {
namespace {

const char* const kAdamFn = "adamUpdateF32";
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kAdamFn, 10, "w, g, m, v, vHat, alpha, c1, c2, epsilon, keep");
  const F32Span w = Float32Arg(info, 0, kAdamFn, "w");
  const F32Span g = Float32Arg(info, 1, kAdamFn, "g");
  const F32Span m = Float32Arg(info, 2, kAdamFn, "m");
  const F32Span v = Float32Arg(info, 3, kAdamFn, "v");
  bool amsgrad = false;
  const F32Span vh = OptionalFloat32Arg(info, 4, kAdamFn, "vHat", &amsgrad);
  const double alpha = NumberArg(info, 5, kAdamFn, "alpha");
  const double c1 = NumberArg(info, 6, kAdamFn, "c1");
  const double c2 = NumberArg(info, 7, kAdamFn, "c2");
  const double eps = NumberArg(info, 8, kAdamFn, "epsilon");
  const double keep = NumberArg(info, 9, kAdamFn, "keep");
  ExpectLength(env, kAdamFn, "g", g.length, w.length, "w's length");
  ExpectLength(env, kAdamFn, "m", m.length, w.length, "w's length");
  ExpectLength(env, kAdamFn, "v", v.length, w.length, "w's length");
  if (amsgrad) ExpectLength(env, kAdamFn, "vHat", vh.length, w.length, "w's length");
  // Every array is written (g excepted) at the same index it is read, but two slots sharing memory would
  // change each other's values: all five must be disjoint.
  ExpectDisjoint(env, kAdamFn, "w", w, "g", g);
  ExpectDisjoint(env, kAdamFn, "m", m, "g", g);
  ExpectDisjoint(env, kAdamFn, "v", v, "g", g);
  ExpectDisjoint(env, kAdamFn, "m", m, "w", w);
  ExpectDisjoint(env, kAdamFn, "v", v, "w", w);
  ExpectDisjoint(env, kAdamFn, "v", v, "m", m);
  if (amsgrad) {
    ExpectDisjoint(env, kAdamFn, "vHat", vh, "g", g);
    ExpectDisjoint(env, kAdamFn, "vHat", vh, "w", w);
    ExpectDisjoint(env, kAdamFn, "vHat", vh, "m", m);
    ExpectDisjoint(env, kAdamFn, "vHat", vh, "v", v);
  }
  if (w.length == 0) return env.Undefined();
  AdamUpdateF32(w.data, g.data, m.data, v.data, amsgrad ? vh.data : nullptr, w.length, alpha, c1, c2, eps, keep);
  return env.Undefined();
}

const char* const kSgdFn = "sgdUpdateF32";
Napi::Value SgdUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kSgdFn, 7, "w, g, velocity, learningRate, momentum, nesterov, keep");
  const F32Span w = Float32Arg(info, 0, kSgdFn, "w");
  const F32Span g = Float32Arg(info, 1, kSgdFn, "g");
  bool has_vel = false;
  const F32Span vel = OptionalFloat32Arg(info, 2, kSgdFn, "velocity", &has_vel);
  const double lr = NumberArg(info, 3, kSgdFn, "learningRate");
  const double mu = NumberArg(info, 4, kSgdFn, "momentum");
  const bool nesterov = BoolArg(info, 5, kSgdFn, "nesterov");
  const double keep = NumberArg(info, 6, kSgdFn, "keep");
  ExpectLength(env, kSgdFn, "g", g.length, w.length, "w's length");
  if (has_vel) ExpectLength(env, kSgdFn, "velocity", vel.length, w.length, "w's length");
  ExpectDisjoint(env, kSgdFn, "w", w, "g", g);
  if (has_vel) {
    ExpectDisjoint(env, kSgdFn, "velocity", vel, "g", g);
    ExpectDisjoint(env, kSgdFn, "velocity", vel, "w", w);
  }
  if (w.length == 0) return env.Undefined();
  SgdUpdateF32(w.data, g.data, has_vel ? vel.data : nullptr, w.length, lr, mu, nesterov, keep);
  return env.Undefined();
}

void InitOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("adamUpdateF32", Napi::Function::New(env, AdamUpdate, kAdamFn));
  exports.Set("sgdUpdateF32", Napi::Function::New(env, SgdUpdate, kSgdFn));
}

}  // namespace

NG_REGISTER_EXPORTS(optim, InitOptim);

}  // namespace nodegrad
