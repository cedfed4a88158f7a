// RunAsync (async.h): a Napi::AsyncWorker settling a Promise, with strong references to the arrays it uses.
#include "async.h"

#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace nodegrad {

namespace {

class KernelWorker final : public Napi::AsyncWorker {
 public:
  KernelWorker(Napi::Env env, const char* name, KernelJob job, Napi::Value result)
      : Napi::AsyncWorker(env, name),
        job_(std::move(job)),
        deferred_(Napi::Promise::Deferred::New(env)),
        result_(Napi::Persistent(result)),
        name_(name) {}

  // Keeps v alive until the worker is destroyed (on the JS thread, after the Promise settles).
  void Keep(Napi::Value v) { kept_.push_back(Napi::Persistent(v)); }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      job_();
    } catch (const std::exception& e) {
      SetError(std::string(Name()) + ": " + e.what());
    } catch (...) {
      SetError(std::string(Name()) + ": the native kernel failed");
    }
  }

  void OnOK() override { deferred_.Resolve(result_.Value()); }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  const char* Name() const { return name_ != nullptr ? name_ : "async kernel"; }

  KernelJob job_;
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Value> result_;
  std::vector<Napi::Reference<Napi::Value>> kept_;
  const char* name_;  // a string literal of the caller's
};

}  // namespace

Napi::Promise RunAsync(Napi::Env env, const char* name, std::initializer_list<Napi::Value> keep, Napi::Value result,
                       KernelJob job) {
  // Deleted by AsyncWorker itself after OnOK/OnError (on the JS thread, which also releases the references).
  auto* worker = new KernelWorker(env, name, std::move(job), result);
  for (const Napi::Value& v : keep) {
    if (!v.IsEmpty() && !v.IsNull() && !v.IsUndefined()) worker->Keep(v);
  }
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace nodegrad
