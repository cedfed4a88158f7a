// numThreads() / setNumThreads(n): the native thread pool's size (native/runtime/thread_pool.h).
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
  SetNumThreads(static_cast<int>(IntArg(info, 0, "setNumThreads", "n", 1, 1024)));
  return env.Undefined();
}

static void InitRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("numThreads", Napi::Function::New(env, NumThreadsJs, "numThreads"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreadsJs, "setNumThreads"));
}

NG_REGISTER_EXPORTS(runtime, InitRuntime);

}  // namespace nodegrad
