// numThreads() / setNumThreads(n): the native thread pool's size (native/runtime/thread_pool.h).
#include <string>

#include "args.h"
#include "entry.h"
#include "../runtime/thread_pool.h"

namespace nodegrad {

static Napi::Value NumThreadsJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), NumThreads());
}

static Napi::Value SetNumThreadsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, "setNumThreads", 1, "n");
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "setNumThreads: argument 'n' must be a number");
  const double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 1 && n <= 1024) || n != static_cast<double>(static_cast<int>(n))) {
    throw Napi::RangeError::New(env, "setNumThreads: argument 'n' must be an integer in [1, 1024], got " + std::to_string(n));
  }
  SetNumThreads(static_cast<int>(n));
  return env.Undefined();
}

static void InitRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("numThreads", Napi::Function::New(env, NumThreadsJs, "numThreads"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreadsJs, "setNumThreads"));
}

NG_REGISTER_EXPORTS(runtime, InitRuntime);

}  // namespace nodegrad
