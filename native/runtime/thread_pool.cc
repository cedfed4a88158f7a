// The persistent thread pool (thread_pool.h): workers sleep on a condition variable between regions, after a
// short spin so that back-to-back small kernels (a training step issues hundreds) do not pay a wake-up each.
#include "thread_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

namespace nodegrad {

namespace {

int DefaultThreads() {
  if (const char* env = std::getenv("NODEGRAD_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1 && n <= 1024) return static_cast<int>(n);
  }
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

// True on a pool worker and on a caller inside its region: nested regions run serially.
thread_local bool t_in_region = false;

class Pool {
 public:
  ~Pool() { Resize(0); }

  int threads() const { return threads_.load(std::memory_order_relaxed); }

  void SetThreads(int n) {
    std::lock_guard<std::mutex> region(region_);
    threads_.store(n < 1 ? 1 : n, std::memory_order_relaxed);
  }

  void Run(std::size_t ntasks, TaskFn fn, void* ctx) {
    if (ntasks == 0) return;
    const int want = threads();
    std::unique_lock<std::mutex> region(region_, std::defer_lock);
    if (want <= 1 || ntasks == 1 || ntasks >= kClosed || t_in_region || !region.try_lock()) {
      for (std::size_t t = 0; t < ntasks; ++t) fn(ctx, t, 0);
      return;
    }
    if (static_cast<int>(workers_.size()) != threads() - 1) Resize(threads() - 1);
    t_in_region = true;
    fn_ = fn;
    ctx_ = ctx;
    ntasks_.store(ntasks, std::memory_order_relaxed);
    done_tasks_.store(0, std::memory_order_relaxed);
    const std::uint64_t gen = ++region_gen_;
    ticket_.store(gen << 32, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lock(m_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    Work(0, gen);
    // The region ends when its tasks are done, not when every worker has woken: a worker still waiting for a
    // CPU (another process, an image decoder) must not hold the caller up when the others took its share.
    for (int i = 0; i < 20000 && done_tasks_.load(std::memory_order_acquire) != ntasks; ++i) std::this_thread::yield();
    if (done_tasks_.load(std::memory_order_acquire) != ntasks) {
      std::unique_lock<std::mutex> lock(m_);
      done_.wait(lock, [&] { return done_tasks_.load(std::memory_order_acquire) == ntasks; });
    }
    // Close the region: a late worker's claim on it fails from here on.
    ticket_.store((gen << 32) | kClosed, std::memory_order_release);
    t_in_region = false;
  }

 private:
  static constexpr std::uint64_t kClosed = 0xffffffffull;

  // Claims tasks of region `gen` with a CAS on ticket_ = (region << 32) | next index: a claim can only succeed
  // while that region is open, and the region stays open (fn_, ctx_ stable) until every claimed task is done.
  void Work(int thread, std::uint64_t gen) {
    for (;;) {
      std::uint64_t t = ticket_.load(std::memory_order_acquire);
      if ((t >> 32) != gen) return;
      const std::uint64_t i = t & kClosed;
      if (i >= ntasks_.load(std::memory_order_relaxed)) return;
      if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) continue;
      const std::size_t n = ntasks_.load(std::memory_order_relaxed);
      fn_(ctx_, static_cast<std::size_t>(i), thread);
      if (done_tasks_.fetch_add(1, std::memory_order_acq_rel) + 1 == n && thread != 0) {
        std::lock_guard<std::mutex> lock(m_);
        done_.notify_one();
      }
    }
  }

  void WorkerLoop(int thread, std::uint64_t seen) {
    t_in_region = true;
    for (;;) {
      // Spin a little for the next region, then sleep.
      const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      while (generation_.load(std::memory_order_acquire) == seen && !stop_.load(std::memory_order_acquire) &&
             std::chrono::steady_clock::now() < spin_until) {
        std::this_thread::yield();
      }
      {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, [&] {
          return generation_.load(std::memory_order_acquire) != seen || stop_.load(std::memory_order_acquire);
        });
      }
      if (stop_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      Work(thread, ticket_.load(std::memory_order_acquire) >> 32);
    }
  }

  // Called with region_ held (or from the destructor).
  void Resize(int nworkers) {
    if (!workers_.empty()) {
      {
        std::lock_guard<std::mutex> lock(m_);
        stop_.store(true, std::memory_order_release);
      }
      wake_.notify_all();
      for (auto& w : workers_) w.join();
      workers_.clear();
      stop_.store(false, std::memory_order_release);
    }
    const std::uint64_t seen = generation_.load(std::memory_order_acquire);
    for (int i = 0; i < nworkers; ++i) workers_.emplace_back(&Pool::WorkerLoop, this, i + 1, seen);
  }

  std::atomic<int> threads_{DefaultThreads()};
  std::mutex region_;  // one region uses the workers at a time
  std::mutex m_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> ticket_{kClosed};
  std::atomic<std::size_t> ntasks_{0};
  std::atomic<std::size_t> done_tasks_{0};
  std::uint64_t region_gen_ = 0;  // written by the caller only, under region_
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
};

Pool& GetPool() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock.
  static Pool* pool = new Pool();
  return *pool;
}

struct AlignedFree {
  void operator()(float* p) const { ::operator delete[](p, std::align_val_t(64)); }
};

struct ScratchSlot {
  std::unique_ptr<float[], AlignedFree> data;
  std::size_t bytes = 0;
};

thread_local ScratchSlot t_scratch[4];

}  // namespace

int NumThreads() { return GetPool().threads(); }

void SetNumThreads(int n) { GetPool().SetThreads(n); }

void ParallelFor(std::size_t ntasks, TaskFn fn, void* ctx) { GetPool().Run(ntasks, fn, ctx); }

float* Scratch(int slot, std::size_t bytes) {
  ScratchSlot& s = t_scratch[slot & 3];
  if (s.bytes < bytes) {
    // Grow geometrically so a slowly growing request does not reallocate every call.
    std::size_t size = s.bytes == 0 ? bytes : s.bytes;
    while (size < bytes) size *= 2;
    size = (size + 63) & ~static_cast<std::size_t>(63);
    s.data.reset(static_cast<float*>(::operator new[](size, std::align_val_t(64))));
    s.bytes = size;
  }
  return s.data.get();
}

}  // namespace nodegrad
