/*
 * Standalone checker of the CUDA kernels (no Node): every kernel family runs on random inputs on the GPU and is
 * compared with the repository's CPU drivers (native/runtime over the scalar reference kernels, linked in), with
 * tolerances derived from float32 rounding:
 *   - SGEMM and the convolutions: a K-term float32 dot product (fused or not, any summation order) is within
 *     gamma_K * sum|a_i b_i| of the exact value (gamma_K = K u / (1 - K u), u = 2^-24), so two of them differ by
 *     at most 2 gamma_K sum|a_i b_i|; sum|a_i b_i| is computed here in double for every output element.
 *     TF32 adds (2^-10 + 2^-22) sum|a_i b_i| (both inputs rounded to 10 mantissa bits).
 *   - kernels that repeat the CPU's float operations in the same order (binary ops, pooling, optimizers, ...):
 *     bit-identical (NaN matches NaN).
 *   - double accumulations in another order rounded to float: 1-2 ulps, plus the double sum's own error.
 * Every device buffer sits between 1 KB guard zones filled with 0xA5 bytes, and outputs start as 0xA5 too:
 * a write out of bounds, or an output element never written, shows up as a FAIL. Inputs are checked unchanged.
 * Shapes cover the tails: M, N, K of 1, primes, one past and one short of the tiles, K = 0, batch 1, 1x1 images,
 * kernels larger than the input, strides larger than the kernel, odd channel counts, misaligned operands.
 *
 *   build-cuda/harness              all checks; prints PASS/FAIL per kernel, exits 1 on any failure
 *   build-cuda/harness --filter conv   only kernels whose name contains "conv"
 *   build-cuda/harness --bench      timings: SGEMM 4096^3 (NN, NT, TN, TF32) in GFLOP/s, and training-step shapes
 *   build-cuda/harness --seed 7     other random inputs
 *   build-cuda/harness --quick      small shapes only (under compute-sanitizer)
 */
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ngcuda/common.h"
#include "ngcuda/conv.h"
#include "ngcuda/dropout.h"
#include "ngcuda/eltwise.h"
#include "ngcuda/gemm.h"
#include "ngcuda/movement.h"
#include "ngcuda/norm.h"
#include "ngcuda/optim.h"
#include "ngcuda/pool.h"
#include "ngcuda/select.h"
#include "nodegrad/eltwise.h"
#include "nodegrad/kernels.h"
#include "nodegrad/pool.h"
#include "runtime/conv.h"
#include "runtime/eltwise.h"
#include "runtime/gemm.h"
#include "runtime/norm.h"
#include "runtime/optim.h"
#include "runtime/pool.h"

namespace {

using i64 = std::int64_t;
using Floats = std::vector<float>;

constexpr double kU = 1.0 / 16777216.0;  // unit roundoff of float32, 2^-24
constexpr double kUlp = 2.0 * kU;        // relative spacing of float32, 2^-23

// gamma_n = n u / (1 - n u): the relative error bound of n rounded float32 operations.
double Gamma(double n) {
  const double t = n * kU;
  return t < 0.5 ? t / (1.0 - t) : 1.0;
}

// ---- random numbers -------------------------------------------------------------------------------------

struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  std::uint64_t Next() {  // splitmix64
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }
  float Range(float lo, float hi) { return static_cast<float>(lo + (hi - lo) * Uniform()); }
  int Int(int lo, int hi) { return lo + static_cast<int>(Next() % static_cast<std::uint64_t>(hi - lo + 1)); }
};

std::uint64_t g_seed = 1;

Floats RandomFloats(Rng& r, i64 n, float lo = -1.0f, float hi = 1.0f) {
  Floats v(static_cast<std::size_t>(n));
  for (float& x : v) x = r.Range(lo, hi);
  return v;
}

// Values that stress semantics: NaN, +-0, +-Inf, ties.
Floats AwkwardFloats(Rng& r, i64 n) {
  Floats v(static_cast<std::size_t>(n));
  for (float& x : v) {
    const int k = r.Int(0, 19);
    if (k == 0) x = NAN;
    else if (k == 1) x = -0.0f;
    else if (k == 2) x = 0.0f;
    else if (k == 3) x = INFINITY;
    else if (k == 4) x = -INFINITY;
    else if (k < 10) x = static_cast<float>(r.Int(-3, 3));  // ties
    else x = r.Range(-4.0f, 4.0f);
  }
  return v;
}

// ---- device buffers with guard zones --------------------------------------------------------------------

constexpr std::size_t kGuard = 256;  // floats each side (1 KB; keeps 16-byte alignment)
constexpr unsigned char kPoison = 0xA5;

template <class T>
class Dev {
 public:
  explicit Dev(std::size_t n, std::size_t offset = 0) : n_(n), offset_(offset) {
    total_ = n + 2 * kGuard + offset;
    base_ = static_cast<T*>(ngcuda::Malloc(total_ * sizeof(T), "harness buffer"));
    ngcuda::Check(cudaMemset(base_, kPoison, total_ * sizeof(T)), "cudaMemset");
  }
  explicit Dev(const std::vector<T>& h, std::size_t offset = 0) : Dev(h.size(), offset) { Put(h); }
  ~Dev() { ngcuda::Free(base_); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;

  T* p() const { return base_ + kGuard + offset_; }
  std::size_t size() const { return n_; }
  void Put(const std::vector<T>& h) { ngcuda::CopyToDevice(p(), h.data(), n_ * sizeof(T)); }
  std::vector<T> Get() const {
    std::vector<T> h(n_);
    ngcuda::CopyToHost(h.data(), p(), n_ * sizeof(T));
    return h;
  }
  // True when both guard zones still hold the poison bytes.
  bool GuardsIntact() const {
    std::vector<unsigned char> b(total_ * sizeof(T));
    ngcuda::CopyToHost(b.data(), base_, b.size());
    const std::size_t lo = (kGuard + offset_) * sizeof(T), hi = lo + n_ * sizeof(T);
    for (std::size_t i = 0; i < b.size(); ++i) {
      if ((i < lo || i >= hi) && b[i] != kPoison) return false;
    }
    return true;
  }

 private:
  T* base_ = nullptr;
  std::size_t n_, offset_, total_;
};

// ---- reporting ------------------------------------------------------------------------------------------

struct Stats {
  int cases = 0;
  int failed = 0;
  double worst = 0.0;  // largest |got - want| / tol over the toleranced comparisons
  std::vector<std::string> notes;
};

std::map<std::string, Stats> g_stats;
std::vector<std::string> g_order;
std::string g_filter;
bool g_quick = false;  // --quick: small shapes only (for compute-sanitizer, which runs kernels 10-100x slower)

bool Enabled(const char* kernel) { return g_filter.empty() || std::string(kernel).find(g_filter) != std::string::npos; }

Stats& StatsFor(const std::string& kernel) {
  if (!g_stats.count(kernel)) g_order.push_back(kernel);
  return g_stats[kernel];
}

void Fail(const std::string& kernel, const std::string& what) {
  Stats& s = StatsFor(kernel);
  if (s.notes.size() < 6) s.notes.push_back(what);
}

std::string Fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string Fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

bool SameBits(float a, float b) {
  std::uint32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y || (a != a && b != b);
}

// tol(i) < 0: bitwise equality (any NaN matches any NaN). Otherwise |got - want| <= tol(i), NaN matching NaN and
// infinities matching exactly. Returns true when every element passes; records the case either way.
bool Compare(const std::string& kernel, const std::string& desc, const Floats& got, const Floats& want,
             const std::function<double(std::size_t)>& tol) {
  Stats& s = StatsFor(kernel);
  ++s.cases;
  if (got.size() != want.size()) {
    ++s.failed;
    Fail(kernel, desc + Fmt(": %zu results, want %zu", got.size(), want.size()));
    return false;
  }
  std::size_t bad = 0;
  std::string first;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const float g = got[i], w = want[i];
    const double t = tol(i);
    bool ok;
    if (t < 0) {
      ok = SameBits(g, w) || (g == 0.0f && w == 0.0f);  // +0 and -0 compare equal, as JS ===
    } else if (w != w || g != g) {
      ok = (w != w) && (g != g);
    } else if (std::isinf(w) || std::isinf(g)) {
      ok = g == w;
    } else {
      const double err = std::fabs(static_cast<double>(g) - static_cast<double>(w));
      ok = err <= t;
      if (t > 0) s.worst = std::max(s.worst, err / t);
      else if (err > 0) s.worst = std::max(s.worst, 1e30);
    }
    if (!ok) {
      if (bad == 0) first = Fmt("index %zu: got %.9g want %.9g (tol %.3g)", i, g, w, t < 0 ? 0.0 : t);
      ++bad;
    }
  }
  if (bad) {
    ++s.failed;
    Fail(kernel, desc + Fmt(": %zu of %zu elements differ; first ", bad, got.size()) + first);
    return false;
  }
  return true;
}

bool Exact(const std::string& kernel, const std::string& desc, const Floats& got, const Floats& want) {
  return Compare(kernel, desc, got, want, [](std::size_t) { return -1.0; });
}

template <class T>
void ExpectGuards(const std::string& kernel, const std::string& desc, const Dev<T>& d, const char* name) {
  if (!d.GuardsIntact()) {
    Stats& s = StatsFor(kernel);
    ++s.failed;
    Fail(kernel, desc + ": wrote outside '" + name + "' (guard zone changed)");
  }
}

template <class T>
void ExpectUnchanged(const std::string& kernel, const std::string& desc, const Dev<T>& d, const std::vector<T>& h,
                     const char* name) {
  const std::vector<T> now = d.Get();
  if (std::memcmp(now.data(), h.data(), h.size() * sizeof(T)) != 0) {
    Stats& s = StatsFor(kernel);
    ++s.failed;
    Fail(kernel, desc + ": input '" + name + "' was modified");
  }
  ExpectGuards(kernel, desc, d, name);
}

// Runs fn; a CUDA error fails the kernel's case. Errors that poison the context end the run.
bool Guarded(const std::string& kernel, const std::string& desc, const std::function<void()>& fn) {
  try {
    fn();
    ngcuda::Synchronize();
    return true;
  } catch (const std::exception& e) {
    Stats& s = StatsFor(kernel);
    ++s.cases;
    ++s.failed;
    Fail(kernel, desc + ": threw " + e.what());
    const cudaError_t sticky = cudaPeekAtLastError();
    if (sticky != cudaSuccess && sticky != cudaErrorInvalidValue && sticky != cudaErrorInvalidConfiguration) {
      std::fprintf(stderr, "harness: the CUDA context is unusable after %s (%s); stopping\n", kernel.c_str(),
                   cudaGetErrorString(sticky));
      throw;
    }
    return false;
  }
}

// Takes the index-error record: check 0 wants none; otherwise that report, and the record cleared by the take.
void ExpectIndexError(const std::string& kernel, const std::string& desc, int check, i64 position, i64 value, i64 bound) {
  Stats& s = StatsFor(kernel);
  ++s.cases;
  ngcuda::IndexError e;
  const bool got = ngcuda::TakeIndexError(&e);
  std::string problem;
  if (check == 0 && got) {
    problem = Fmt("unexpected index error (check %d, position %lld, value %lld, bound %lld)", e.check,
                  static_cast<long long>(e.position), static_cast<long long>(e.value), static_cast<long long>(e.bound));
  } else if (check != 0 && !got) {
    problem = "no index error recorded";
  } else if (check != 0 && (e.check != check || e.position != position || e.value != value || e.bound != bound)) {
    problem = Fmt("index error (check %d, position %lld, value %lld, bound %lld), want (%d, %lld, %lld, %lld)", e.check,
                  static_cast<long long>(e.position), static_cast<long long>(e.value), static_cast<long long>(e.bound), check,
                  static_cast<long long>(position), static_cast<long long>(value), static_cast<long long>(bound));
  } else if (check != 0 && ngcuda::TakeIndexError(&e)) {
    problem = "the record was not cleared by the read";
  }
  if (!problem.empty()) {
    ++s.failed;
    Fail(kernel, desc + ": " + problem);
  }
}

// ---- SGEMM ----------------------------------------------------------------------------------------------

struct GemmCase {
  int m, n, k;
};

// sum_p |opA[i][p]| |opB[p][j]| for every (i, j), in double.
std::vector<double> AbsProducts(const Floats& opa, const Floats& opb, int m, int n, int k) {
  std::vector<double> s(static_cast<std::size_t>(m) * n, 0.0);
  std::vector<double> arow(k);
  for (int i = 0; i < m; ++i) {
    for (int p = 0; p < k; ++p) arow[p] = std::fabs(static_cast<double>(opa[static_cast<std::size_t>(i) * k + p]));
    double* srow = s.data() + static_cast<std::size_t>(i) * n;
    for (int p = 0; p < k; ++p) {
      const double a = arow[p];
      if (a == 0.0) continue;
      const float* brow = opb.data() + static_cast<std::size_t>(p) * n;
      for (int j = 0; j < n; ++j) srow[j] += a * std::fabs(static_cast<double>(brow[j]));
    }
  }
  return s;
}

// Stores the logical rows x cols matrix `logical` transposed or not, with row stride ld (padding poisoned).
Floats Store(const Floats& logical, int rows, int cols, bool trans, i64 ld) {
  const i64 srows = trans ? cols : rows;
  Floats st(static_cast<std::size_t>(std::max<i64>(0, (srows - 1) * ld + (trans ? rows : cols))), -7.0f);
  if (rows == 0 || cols == 0) st.clear();
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      const float v = logical[static_cast<std::size_t>(i) * cols + j];
      if (!trans) st[static_cast<std::size_t>(i * ld + j)] = v;
      else st[static_cast<std::size_t>(j * ld + i)] = v;
    }
  }
  return st;
}

void TestSgemm(bool tf32) {
  const char* kernel = tf32 ? "sgemm_tf32" : "sgemm_fp32";
  if (!Enabled(kernel)) return;
  if (tf32 && ngcuda::Init().major < 8) {
    Fail(kernel, "skipped: the device is below sm_80 (no TF32 tensor cores)");
    return;
  }
  Rng rng(g_seed * 1000 + (tf32 ? 7 : 3));
  const std::vector<GemmCase> cases = {
      {1, 1, 1},     {1, 7, 3},      {17, 1, 5},     {2, 3, 0},       {0, 5, 3},       {5, 0, 3},
      {13, 11, 1},   {63, 65, 7},    {64, 64, 8},    {65, 63, 9},     {127, 129, 17},  {128, 128, 16},
      {129, 131, 31}, {3, 257, 1000}, {31, 37, 4099}, {255, 65, 1031}, {500, 70, 33},   {97, 1, 3001},
      {1537, 1409, 37}, {2051, 1031, 100}};
  for (const GemmCase& c : cases) {
    const i64 work = static_cast<i64>(c.m) * c.n * std::max(c.k, 1);
    const bool small = work <= 4000000;
    if (g_quick && !small) continue;
    const Floats opa = RandomFloats(rng, static_cast<i64>(c.m) * c.k);
    const Floats opb = RandomFloats(rng, static_cast<i64>(c.k) * c.n);
    const std::vector<double> absprod = AbsProducts(opa, opb, c.m, c.n, c.k);
    for (int ta = 0; ta < 2; ++ta) {
      for (int tb = 0; tb < 2; ++tb) {
        // variants: 0 plain; 1 epilogue (alpha, beta, bias, relu) with padded, misaligned operands;
        // 2 a batch of 3 with A broadcast.
        for (int variant = 0; variant < (small ? 3 : 1); ++variant) {
          // forced configurations: (tile, splits) = auto, 64, 128, 64 with 3 splits.
          const int nconf = small && !tf32 ? 4 : 1;
          for (int conf = 0; conf < nconf; ++conf) {
            const int tile = conf == 1 || conf == 3 ? 64 : conf == 2 ? 128 : 0;
            const int splits = conf == 3 ? 3 : 0;
            const bool epi = variant == 1, batched = variant == 2;
            const int pad = epi ? 3 : 0;
            const i64 lda = (ta ? c.m : c.k) + pad, ldb = (tb ? c.k : c.n) + pad, ldc = c.n + pad;
            const int batch = batched ? 3 : 1;
            const Floats a = Store(opa, c.m, c.k, ta, std::max<i64>(lda, 1));
            Floats b1 = Store(opb, c.k, c.n, tb, std::max<i64>(ldb, 1));
            // Batched: B differs per item (scaled copies), A is broadcast (stride 0).
            Floats b(b1.size() * batch);
            for (int t = 0; t < batch; ++t) {
              for (std::size_t i = 0; i < b1.size(); ++i) b[t * b1.size() + i] = b1[i] * (t == 0 ? 1.0f : t == 1 ? -0.5f : 2.0f);
            }
            const i64 c_item = std::max<i64>(0, (c.m - 1) * ldc + c.n);
            Floats c0 = c.m && c.n ? RandomFloats(rng, c_item * batch) : Floats();
            Floats bias = RandomFloats(rng, c.n);
            const float alpha = epi ? 0.75f : 1.0f, beta = epi ? -1.5f : 0.0f;
            const std::size_t off = epi ? 1 : 0;  // one float past the aligned start: the scalar-load kernels
            Dev<float> da(a, off), db(b, off), dbias(bias), dc(c0.size(), off);
            if (epi) dc.Put(c0);

            nodegrad::GemmArgs cg;
            cg.trans_a = ta;
            cg.trans_b = tb;
            cg.m = c.m;
            cg.n = c.n;
            cg.k = c.k;
            cg.alpha = alpha;
            cg.a = a.data();
            cg.lda = static_cast<std::size_t>(std::max<i64>(lda, 1));
            cg.ldb = static_cast<std::size_t>(std::max<i64>(ldb, 1));
            cg.beta = beta;
            cg.ldc = static_cast<std::size_t>(ldc);
            cg.bias = epi ? bias.data() : nullptr;
            cg.act = epi ? nodegrad::Activation::kRelu : nodegrad::Activation::kNone;
            Floats want = c0;
            if (want.empty()) want.assign(static_cast<std::size_t>(c_item * batch), 0.0f);
            // Unwritten padding between C rows keeps its old value on both sides (poison on the GPU: compare rows only).
            for (int t = 0; t < batch; ++t) {
              cg.b = b.data() + t * b1.size();
              cg.c = want.data() + t * c_item;
              if (c.m && c.n) nodegrad::Sgemm(cg);
            }

            ngcuda::GemmArgs g;
            g.trans_a = ta;
            g.trans_b = tb;
            g.m = c.m;
            g.n = c.n;
            g.k = c.k;
            g.alpha = alpha;
            g.a = da.p();
            g.lda = std::max<i64>(lda, 1);
            g.b = db.p();
            g.ldb = std::max<i64>(ldb, 1);
            g.beta = beta;
            g.c = dc.p();
            g.ldc = ldc;
            g.bias = epi ? dbias.p() : nullptr;
            g.act = epi ? ngcuda::Activation::kRelu : ngcuda::Activation::kNone;
            g.batch = batch;
            g.stride_a = 0;
            g.stride_b = static_cast<i64>(b1.size());
            g.stride_c = c_item;
            ngcuda::SetSgemmOverride(tile, splits);
            const std::string desc =
                Fmt("%dx%dx%d %c%c%s%s tile %s splits %s [%s]", c.m, c.n, c.k, ta ? 'T' : 'N', tb ? 'T' : 'N',
                    epi ? " alpha/beta/bias/relu misaligned ld+3" : "", batched ? " batch 3 (A broadcast)" : "",
                    tile ? std::to_string(tile).c_str() : "auto", splits ? "3" : "auto",
                    ngcuda::SgemmKernelName(g, tf32));
            const bool ran = Guarded(kernel, desc, [&] { ngcuda::Sgemm(g, tf32); });
            ngcuda::SetSgemmOverride(0, 0);
            if (!ran) continue;
            const Floats got = dc.Get();
            const double per_term = tf32 ? (0x1p-10 + 0x1p-22) : 0.0;  // TF32 rounding of both inputs
            const double gk = 2.0 * Gamma(c.k + 2.0);
            // Rows of C only (the stride's padding columns are not part of the result).
            Floats gr, wr;
            std::vector<double> tol;
            for (int t = 0; t < batch; ++t) {
              const double scale = t == 0 ? 1.0 : t == 1 ? 0.5 : 2.0;
              for (int i = 0; i < c.m; ++i) {
                for (int j = 0; j < c.n; ++j) {
                  const std::size_t at = static_cast<std::size_t>(t * c_item + i * ldc + j);
                  gr.push_back(got[at]);
                  wr.push_back(want[at]);
                  const double sabs = std::fabs(alpha) * scale * absprod[static_cast<std::size_t>(i) * c.n + j];
                  const double rest = epi ? std::fabs(beta * c0[at]) + std::fabs(bias[j]) : 0.0;
                  tol.push_back((gk + per_term) * sabs + gk * rest + 1e-37);
                }
              }
            }
            Compare(kernel, desc, gr, wr, [&](std::size_t i) { return tol[i]; });
            ExpectGuards(kernel, desc, dc, "c");
            ExpectUnchanged(kernel, desc, da, a, "a");
            ExpectUnchanged(kernel, desc, db, b, "b");
          }
        }
      }
    }
  }
}

// ---- convolution ----------------------------------------------------------------------------------------

struct ConvCase {
  int n, h, w, cin, kh, kw, cout, sh, sw, dh, dw, pt, pb, pl, pr, groups;
};

int WindowOut(int in, int k, int s, int d, int before, int after) {
  const int num = in + before + after - (k - 1) * d - 1;
  return num < 0 ? 0 : num / s + 1;
}

// The case as the CPU's nodegrad::ConvShape or the GPU's ngcuda::ConvShape (the same fields).
template <class Shape>
Shape ShapeOf(const ConvCase& c, int oh, int ow) {
  Shape s;
  s.n = c.n;
  s.h = c.h;
  s.w = c.w;
  s.cin = c.cin;
  s.kh = c.kh;
  s.kw = c.kw;
  s.cout = c.cout;
  s.oh = oh;
  s.ow = ow;
  s.stride_h = c.sh;
  s.stride_w = c.sw;
  s.dil_h = c.dh;
  s.dil_w = c.dw;
  s.pad_top = c.pt;
  s.pad_left = c.pl;
  s.groups = c.groups;
  return s;
}

// Sums of |products| each output of the three convolution passes adds (bias excluded), in double.
struct ConvAbs {
  std::vector<double> y, dx, dw;
};

ConvAbs ConvAbsSums(const ConvCase& c, int oh, int ow, const Floats& x, const Floats& w, const Floats& dy) {
  const int cg = c.cin / c.groups, cog = c.cout / c.groups;
  ConvAbs r;
  r.y.assign(static_cast<std::size_t>(c.n) * oh * ow * c.cout, 0.0);
  r.dx.assign(static_cast<std::size_t>(c.n) * c.h * c.w * c.cin, 0.0);
  r.dw.assign(static_cast<std::size_t>(c.kh) * c.kw * cg * c.cout, 0.0);
  for (int i = 0; i < c.n; ++i) {
    for (int oy = 0; oy < oh; ++oy) {
      for (int ox = 0; ox < ow; ++ox) {
        for (int ky = 0; ky < c.kh; ++ky) {
          const int iy = oy * c.sh - c.pt + ky * c.dh;
          if (iy < 0 || iy >= c.h) continue;
          for (int kx = 0; kx < c.kw; ++kx) {
            const int ix = ox * c.sw - c.pl + kx * c.dw;
            if (ix < 0 || ix >= c.w) continue;
            for (int g = 0; g < c.groups; ++g) {
              for (int ci = 0; ci < cg; ++ci) {
                const std::size_t xi = ((static_cast<std::size_t>(i) * c.h + iy) * c.w + ix) * c.cin + g * cg + ci;
                const double ax = std::fabs(static_cast<double>(x[xi]));
                for (int co = 0; co < cog; ++co) {
                  const int oc = g * cog + co;
                  const std::size_t wi = ((static_cast<std::size_t>(ky) * c.kw + kx) * cg + ci) * c.cout + oc;
                  const std::size_t yi = ((static_cast<std::size_t>(i) * oh + oy) * ow + ox) * c.cout + oc;
                  const double aw = std::fabs(static_cast<double>(w[wi])), ady = std::fabs(static_cast<double>(dy[yi]));
                  r.y[yi] += ax * aw;
                  r.dx[xi] += ady * aw;
                  r.dw[wi] += ax * ady;
                }
              }
            }
          }
        }
      }
    }
  }
  return r;
}

void TestConv() {
  const bool fwd = Enabled("conv2d_forward"), bwd_data = Enabled("conv2d_backward_data"),
             bwd_filter = Enabled("conv2d_backward_filter"), cols = Enabled("im2col") || Enabled("col2im");
  if (!fwd && !bwd_data && !bwd_filter && !cols) return;
  Rng rng(g_seed * 1000 + 11);
  // n, h, w, cin, kh, kw, cout, sh, sw, dh, dw, pt, pb, pl, pr, groups
  const std::vector<ConvCase> cases = {
      {2, 5, 7, 3, 1, 1, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1},       // 1x1 stride 1: one SGEMM in place
      {2, 7, 7, 4, 1, 1, 6, 2, 2, 1, 1, 0, 0, 0, 0, 1},       // 1x1 stride 2: im2col
      {3, 11, 13, 5, 3, 3, 7, 1, 1, 1, 1, 1, 1, 1, 1, 1},     // 3x3 'same'
      {2, 17, 9, 6, 3, 3, 10, 2, 2, 1, 1, 0, 0, 0, 0, 1},     // 3x3 stride 2 'valid', odd sizes
      {2, 8, 8, 3, 3, 3, 4, 2, 2, 1, 1, 0, 1, 0, 1, 1},       // 'same' stride 2: the extra pad after
      {1, 12, 12, 3, 5, 5, 4, 1, 1, 2, 2, 4, 4, 4, 4, 1},     // dilation 2
      {2, 10, 10, 3, 2, 2, 5, 3, 3, 1, 1, 0, 1, 0, 1, 1},     // stride larger than the kernel
      {2, 2, 3, 4, 5, 5, 3, 1, 1, 1, 1, 2, 2, 2, 2, 1},       // kernel larger than the input, padded
      {4, 1, 1, 8, 1, 1, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1},      // 1x1 images
      {3, 1, 1, 5, 3, 3, 7, 1, 1, 1, 1, 1, 1, 1, 1, 1},       // 1x1 images, 3x3 'same'
      {2, 8, 8, 8, 3, 3, 12, 1, 1, 1, 1, 1, 1, 1, 1, 4},      // grouped
      {2, 6, 5, 6, 1, 1, 4, 1, 1, 1, 1, 0, 0, 0, 0, 2},       // grouped 1x1
      {2, 9, 9, 6, 3, 3, 6, 1, 1, 1, 1, 1, 1, 1, 1, 6},       // depthwise
      {2, 10, 11, 4, 3, 3, 12, 2, 2, 1, 1, 0, 1, 0, 1, 4},    // depthwise, multiplier 3, stride 2
      {3, 7, 7, 5, 5, 5, 5, 1, 1, 2, 2, 4, 4, 4, 4, 5},       // depthwise, dilated
      {16, 28, 28, 1, 3, 3, 32, 1, 1, 1, 1, 0, 0, 0, 0, 1},   // the course's first conv (Cin 1: depthwise path)
      {8, 13, 13, 32, 3, 3, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1},   // its second conv
      {8, 16, 16, 32, 3, 3, 64, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // a ResNet-style layer
      {5, 32, 32, 16, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1},    // several column chunks (1 MB budget per chunk)
      {2, 9, 9, 64, 1, 1, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1},     // pointwise, odd cout
  };
  for (const ConvCase& c : cases) {
    const int oh = WindowOut(c.h, c.kh, c.sh, c.dh, c.pt, c.pb), ow = WindowOut(c.w, c.kw, c.sw, c.dw, c.pl, c.pr);
    const int cg = c.cin / c.groups;
    if (g_quick && static_cast<i64>(c.n) * oh * ow * c.cout * c.kh * c.kw * cg > 2000000) continue;
    const Floats x = RandomFloats(rng, static_cast<i64>(c.n) * c.h * c.w * c.cin);
    const Floats w = RandomFloats(rng, static_cast<i64>(c.kh) * c.kw * cg * c.cout);
    const Floats bias = RandomFloats(rng, c.cout);
    const Floats dy = RandomFloats(rng, static_cast<i64>(c.n) * oh * ow * c.cout);
    const nodegrad::ConvShape cs = ShapeOf<nodegrad::ConvShape>(c, oh, ow);
    const ngcuda::ConvShape gs = ShapeOf<ngcuda::ConvShape>(c, oh, ow);
    const ConvAbs abs = ConvAbsSums(c, oh, ow, x, w, dy);
    const std::string desc = Fmt("x[%d,%d,%d,%d] w[%d,%d,%d,%d] s%dx%d d%dx%d pad %d,%d,%d,%d g%d [%s]", c.n, c.h, c.w,
                                 c.cin, c.kh, c.kw, cg, c.cout, c.sh, c.sw, c.dh, c.dw, c.pt, c.pb, c.pl, c.pr,
                                 c.groups, ngcuda::ConvAlgorithm(gs));
    Dev<float> dx_in(x), dw_in(w), dbias(bias), ddy(dy);
    if (fwd) {
      for (int variant = 0; variant < 2; ++variant) {  // 0: no bias, linear; 1: bias + relu
        const bool epi = variant == 1;
        Floats want(abs.y.size());
        nodegrad::Conv2dForward(cs, x.data(), w.data(), epi ? bias.data() : nullptr, want.data(),
                                epi ? nodegrad::Activation::kRelu : nodegrad::Activation::kNone);
        Dev<float> dyo(want.size());
        const std::string d = desc + (epi ? " bias+relu" : "");
        if (!Guarded("conv2d_forward", d, [&] {
              ngcuda::Conv2dForward(gs, dx_in.p(), dw_in.p(), epi ? dbias.p() : nullptr, dyo.p(),
                                    epi ? ngcuda::Activation::kRelu : ngcuda::Activation::kNone);
            }))
          continue;
        const double gk = 2.0 * Gamma(c.kh * c.kw * cg + 2.0);
        Compare("conv2d_forward", d, dyo.Get(), want, [&](std::size_t i) {
          return gk * (abs.y[i] + (epi ? std::fabs(bias[i % c.cout]) : 0.0)) + 1e-37;
        });
        ExpectGuards("conv2d_forward", d, dyo, "y");
        ExpectUnchanged("conv2d_forward", d, dx_in, x, "x");
        ExpectUnchanged("conv2d_forward", d, dw_in, w, "w");
      }
    }
    if (bwd_data) {
      Floats want(x.size());
      nodegrad::Conv2dBackwardData(cs, dy.data(), w.data(), want.data());
      Dev<float> ddx(want.size());
      if (Guarded("conv2d_backward_data", desc, [&] { ngcuda::Conv2dBackwardData(gs, ddy.p(), dw_in.p(), ddx.p()); })) {
        const double gk = 2.0 * Gamma(c.kh * c.kw * (c.cout / c.groups) + 2.0);
        Compare("conv2d_backward_data", desc, ddx.Get(), want, [&](std::size_t i) { return gk * abs.dx[i] + 1e-37; });
        ExpectGuards("conv2d_backward_data", desc, ddx, "dx");
        ExpectUnchanged("conv2d_backward_data", desc, ddy, dy, "dy");
      }
    }
    if (bwd_filter) {
      Floats want(w.size());
      nodegrad::Conv2dBackwardFilter(cs, x.data(), dy.data(), want.data());
      Dev<float> ddw(want.size());
      if (Guarded("conv2d_backward_filter", desc, [&] { ngcuda::Conv2dBackwardFilter(gs, dx_in.p(), ddy.p(), ddw.p()); })) {
        const double gk = 2.0 * Gamma(static_cast<double>(c.n) * oh * ow + 2.0);
        Compare("conv2d_backward_filter", desc, ddw.Get(), want, [&](std::size_t i) { return gk * abs.dw[i] + 1e-37; });
        ExpectGuards("conv2d_backward_filter", desc, ddw, "dw");
        ExpectUnchanged("conv2d_backward_filter", desc, dx_in, x, "x");
      }
    }
    if (cols && cg >= 1) {
      // im2col of images [1, n) (or [0, 1) for a single image), the group's last channels: exact copies.
      const int n0 = c.n > 1 ? 1 : 0, nb = c.n - n0, c0 = (c.groups - 1) * cg;
      const i64 kg = static_cast<i64>(c.kh) * c.kw * cg;
      Floats want(static_cast<std::size_t>(nb) * oh * ow * kg);
      for (int i = 0; i < nb; ++i)
        for (int oy = 0; oy < oh; ++oy)
          for (int ox = 0; ox < ow; ++ox)
            for (int ky = 0; ky < c.kh; ++ky)
              for (int kx = 0; kx < c.kw; ++kx)
                for (int ci = 0; ci < cg; ++ci) {
                  const int iy = oy * c.sh - c.pt + ky * c.dh, ix = ox * c.sw - c.pl + kx * c.dw;
                  const std::size_t at = ((static_cast<std::size_t>(i) * oh + oy) * ow + ox) * kg + (ky * c.kw + kx) * cg + ci;
                  want[at] = (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w)
                                 ? 0.0f
                                 : x[((static_cast<std::size_t>(n0 + i) * c.h + iy) * c.w + ix) * c.cin + c0 + ci];
                }
      Dev<float> dcols(want.size());
      if (Guarded("im2col", desc, [&] { ngcuda::Im2col(gs, dx_in.p(), n0, nb, c0, cg, dcols.p()); })) {
        Exact("im2col", desc, dcols.Get(), want);
        ExpectGuards("im2col", desc, dcols, "cols");
      }
      // col2im: the adjoint, against a scatter in double; other channels of dx keep their old values.
      const Floats colv = RandomFloats(rng, static_cast<i64>(want.size()));
      std::vector<double> acc(x.size(), 0.0), aabs(x.size(), 0.0);
      for (int i = 0; i < nb; ++i)
        for (int oy = 0; oy < oh; ++oy)
          for (int ox = 0; ox < ow; ++ox)
            for (int ky = 0; ky < c.kh; ++ky)
              for (int kx = 0; kx < c.kw; ++kx)
                for (int ci = 0; ci < cg; ++ci) {
                  const int iy = oy * c.sh - c.pt + ky * c.dh, ix = ox * c.sw - c.pl + kx * c.dw;
                  if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                  const std::size_t xi = ((static_cast<std::size_t>(n0 + i) * c.h + iy) * c.w + ix) * c.cin + c0 + ci;
                  const float v = colv[((static_cast<std::size_t>(i) * oh + oy) * ow + ox) * kg + (ky * c.kw + kx) * cg + ci];
                  acc[xi] += v;
                  aabs[xi] += std::fabs(static_cast<double>(v));
                }
      Floats start = RandomFloats(rng, static_cast<i64>(x.size()));
      Floats want2 = start;
      for (int i = 0; i < nb; ++i)
        for (int p = 0; p < c.h * c.w; ++p)
          for (int ci = 0; ci < cg; ++ci) {
            const std::size_t xi = (static_cast<std::size_t>(n0 + i) * c.h * c.w + p) * c.cin + c0 + ci;
            want2[xi] = static_cast<float>(acc[xi]);
          }
      Dev<float> dcv(colv), ddx(start);
      if (Guarded("col2im", desc, [&] { ngcuda::Col2im(gs, dcv.p(), n0, nb, c0, cg, ddx.p()); })) {
        const double gk = 2.0 * Gamma(c.kh * c.kw + 1.0);
        Compare("col2im", desc, ddx.Get(), want2, [&](std::size_t i) { return gk * aabs[i] + 1e-37; });
        ExpectGuards("col2im", desc, ddx, "dx");
      }
    }
  }
}

// ---- pooling --------------------------------------------------------------------------------------------

struct PoolCase {
  int n, h, w, c, kh, kw, sh, sw, pt, pb, pl, pr;
};

void TestPool() {
  const bool any = Enabled("maxpool2d") || Enabled("avgpool2d") || Enabled("globalpool");
  if (!any) return;
  Rng rng(g_seed * 1000 + 13);
  const std::vector<PoolCase> cases = {
      {2, 8, 8, 3, 2, 2, 2, 2, 0, 0, 0, 0},   {2, 9, 7, 5, 2, 2, 2, 2, 0, 1, 0, 1},   // 2x2 (odd sizes, 'same')
      {3, 11, 11, 4, 3, 3, 2, 2, 1, 1, 1, 1}, {1, 7, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1},   // overlapping windows
      {2, 10, 10, 3, 2, 2, 3, 3, 0, 1, 0, 1}, {2, 3, 2, 2, 4, 4, 1, 1, 2, 2, 2, 2},   // gaps; window > input
      {1, 4, 4, 3, 2, 2, 2, 2, 3, 3, 3, 3},   {4, 1, 1, 7, 1, 1, 1, 1, 0, 0, 0, 0},   // all-padding windows; 1x1
      {64, 26, 26, 32, 2, 2, 2, 2, 0, 0, 0, 0}};                                      // the course's pooling
  for (const PoolCase& c : cases) {
    const int oh = (c.h + c.pt + c.pb - c.kh) / c.sh + 1, ow = (c.w + c.pl + c.pr - c.kw) / c.sw + 1;
    ng_pool2d_geom cg;
    cg.h = c.h;
    cg.w = c.w;
    cg.c = c.c;
    cg.kh = c.kh;
    cg.kw = c.kw;
    cg.sh = c.sh;
    cg.sw = c.sw;
    cg.pad_top = c.pt;
    cg.pad_left = c.pl;
    cg.oh = oh;
    cg.ow = ow;
    ngcuda::PoolGeom gg;
    gg.n = c.n;
    gg.h = c.h;
    gg.w = c.w;
    gg.c = c.c;
    gg.kh = c.kh;
    gg.kw = c.kw;
    gg.sh = c.sh;
    gg.sw = c.sw;
    gg.pad_top = c.pt;
    gg.pad_left = c.pl;
    gg.oh = oh;
    gg.ow = ow;
    const std::size_t in = static_cast<std::size_t>(c.n) * c.h * c.w * c.c, out = static_cast<std::size_t>(c.n) * oh * ow * c.c;
    const std::string desc = Fmt("x[%d,%d,%d,%d] pool %dx%d stride %dx%d pad %d,%d,%d,%d", c.n, c.h, c.w, c.c, c.kh,
                                 c.kw, c.sh, c.sw, c.pt, c.pb, c.pl, c.pr);
    for (int awkward = 0; awkward < 2; ++awkward) {  // 1: NaN, +-0, +-Inf and ties in x
      const Floats x = awkward ? AwkwardFloats(rng, static_cast<i64>(in)) : RandomFloats(rng, static_cast<i64>(in));
      const Floats dy = RandomFloats(rng, static_cast<i64>(out));
      const std::string d = desc + (awkward ? " awkward values" : "");
      Dev<float> dxin(x), ddy(dy);
      if (Enabled("maxpool2d_forward")) {
        Floats want(out);
        nodegrad::MaxPool2dF32(cg, c.n, x.data(), want.data());
        Dev<float> dout(out);
        if (Guarded("maxpool2d_forward", d, [&] { ngcuda::MaxPool2dForward(gg, dxin.p(), dout.p()); })) {
          Exact("maxpool2d_forward", d, dout.Get(), want);
          ExpectGuards("maxpool2d_forward", d, dout, "y");
        }
      }
      if (Enabled("maxpool2d_backward")) {
        Floats want(in);
        nodegrad::MaxPool2dBackwardF32(cg, c.n, dy.data(), x.data(), want.data());
        // Overlapping windows may add dy in another order: 2 gamma_(windows) sum|dy| over the windows routing here
        // (bounded by the sum over all windows holding the pixel).
        std::vector<double> sabs(in, 0.0);
        for (int i = 0; i < c.n; ++i)
          for (int oy = 0; oy < oh; ++oy)
            for (int ox = 0; ox < ow; ++ox)
              for (int ky = 0; ky < c.kh; ++ky)
                for (int kx = 0; kx < c.kw; ++kx) {
                  const int iy = oy * c.sh - c.pt + ky, ix = ox * c.sw - c.pl + kx;
                  if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                  for (int ch = 0; ch < c.c; ++ch)
                    sabs[((static_cast<std::size_t>(i) * c.h + iy) * c.w + ix) * c.c + ch] +=
                        std::fabs(dy[((static_cast<std::size_t>(i) * oh + oy) * ow + ox) * c.c + ch]);
                }
        const double gk = 2.0 * Gamma(((c.kh + c.sh - 1) / c.sh) * ((c.kw + c.sw - 1) / c.sw) + 1.0);
        Dev<float> ddx(in);
        if (Guarded("maxpool2d_backward", d, [&] { ngcuda::MaxPool2dBackward(gg, ddy.p(), dxin.p(), ddx.p()); })) {
          Compare("maxpool2d_backward", d, ddx.Get(), want, [&](std::size_t i) { return gk * sabs[i]; });
          ExpectGuards("maxpool2d_backward", d, ddx, "dx");
        }
      }
      if (Enabled("avgpool2d_forward")) {
        Floats want(out);
        nodegrad::AvgPool2dF32(cg, c.n, x.data(), want.data());
        Dev<float> dout(out);
        if (Guarded("avgpool2d_forward", d, [&] { ngcuda::AvgPool2dForward(gg, dxin.p(), dout.p()); })) {
          Exact("avgpool2d_forward", d, dout.Get(), want);
          ExpectGuards("avgpool2d_forward", d, dout, "y");
        }
      }
      if (Enabled("avgpool2d_backward")) {
        Floats want(in);
        nodegrad::AvgPool2dBackwardF32(cg, c.n, dy.data(), want.data());
        Dev<float> ddx(in);
        if (Guarded("avgpool2d_backward", d, [&] { ngcuda::AvgPool2dBackward(gg, ddy.p(), ddx.p()); })) {
          Exact("avgpool2d_backward", d, ddx.Get(), want);
          ExpectGuards("avgpool2d_backward", d, ddx, "dx");
        }
      }
      for (int mx = 0; mx < 2; ++mx) {
        const std::string k = mx ? "globalpool_max" : "globalpool_avg";
        if (!Enabled((k + "_forward").c_str()) && !Enabled((k + "_backward").c_str())) continue;
        const i64 hw = static_cast<i64>(c.h) * c.w;
        const Floats gdy = RandomFloats(rng, static_cast<i64>(c.n) * c.c);
        Floats want(static_cast<std::size_t>(c.n) * c.c), wantdx(in);
        nodegrad::GlobalPool2dF32(mx, c.n, static_cast<std::size_t>(hw), c.c, x.data(), want.data());
        nodegrad::GlobalPool2dBackwardF32(mx, c.n, static_cast<std::size_t>(hw), c.c, gdy.data(), x.data(), wantdx.data());
        Dev<float> dout(want.size()), dgdy(gdy), ddx(in);
        if (Guarded(k + "_forward", d, [&] { ngcuda::GlobalPool2dForward(mx, c.n, hw, c.c, dxin.p(), dout.p()); })) {
          Exact(k + "_forward", d, dout.Get(), want);  // the same double sum in the same order
          ExpectGuards(k + "_forward", d, dout, "y");
        }
        if (Guarded(k + "_backward", d, [&] { ngcuda::GlobalPool2dBackward(mx, c.n, hw, c.c, dgdy.p(), dxin.p(), ddx.p()); })) {
          Exact(k + "_backward", d, ddx.Get(), wantdx);
          ExpectGuards(k + "_backward", d, ddx, "dx");
        }
      }
      if (Enabled("maxpool2d_forward")) ExpectUnchanged("maxpool2d_forward", d, dxin, x, "x");
    }
  }
}

// ---- batch norm -----------------------------------------------------------------------------------------

void TestBatchNorm() {
  if (!Enabled("batchnorm")) return;
  Rng rng(g_seed * 1000 + 17);
  struct Case {
    i64 rows, c;
    float center, spread;
  };
  const std::vector<Case> cases = {{1, 1, 0, 1},     {7, 3, 0, 1},     {64, 33, 0.5f, 2},   {1000, 5, 1000, 0.01f},
                                   {8192, 64, 0, 1}, {300, 1000, -3, 5}, {5, 1, 0, 1},       {0, 4, 0, 1}};
  const double eps = 1e-3;
  for (const Case& cs : cases) {
    const std::size_t n = static_cast<std::size_t>(cs.rows * cs.c);
    const std::string desc = Fmt("x[%lld, %lld] mean ~%g std ~%g", static_cast<long long>(cs.rows),
                                 static_cast<long long>(cs.c), cs.center, cs.spread);
    Floats x(n);
    for (float& v : x) v = cs.center + cs.spread * rng.Range(-1.0f, 1.0f);
    const Floats gamma = RandomFloats(rng, cs.c, 0.5f, 1.5f), beta = RandomFloats(rng, cs.c);
    const Floats dy = RandomFloats(rng, static_cast<i64>(n));
    Dev<float> dxv(x), dgamma(gamma), dbeta(beta), ddy(dy);
    // training forward
    Floats y(n), mean(cs.c), var(cs.c);
    nodegrad::BatchNormTrainF32(x.data(), cs.rows, cs.c, gamma.data(), beta.data(), eps, y.data(), mean.data(), var.data());
    Dev<float> gy(n), gmean(cs.c), gvar(cs.c);
    if (Guarded("batchnorm_train_forward", desc, [&] {
          ngcuda::BatchNormTrain(dxv.p(), cs.rows, cs.c, dgamma.p(), dbeta.p(), eps, gy.p(), gmean.p(), gvar.p());
        })) {
      // The double sums differ only in order (each within rows 2^-53 of its sum of |terms|), then round to float:
      // 1 ulp plus that.
      const double dsum = static_cast<double>(cs.rows) * 0x1p-52;
      std::vector<double> mabs(cs.c, 0.0), vabs(cs.c, 0.0);
      for (i64 r = 0; r < cs.rows; ++r)
        for (i64 ch = 0; ch < cs.c; ++ch) {
          const double d = x[r * cs.c + ch] - x[ch];
          mabs[ch] += std::fabs(d) / cs.rows;
          vabs[ch] += d * d / cs.rows;
        }
      Compare("batchnorm_train_forward", desc + " mean", gmean.Get(), mean,
              [&](std::size_t i) { return kUlp * std::fabs(mean[i]) + dsum * mabs[i] + 1e-45; });
      Compare("batchnorm_train_forward", desc + " variance", gvar.Get(), var, [&](std::size_t i) {
        return kUlp * std::fabs(var[i]) + 2.0 * dsum * (vabs[i] + mabs[i] * mabs[i]) + 1e-45;
      });
      // y: four float operations on each side with coefficients that may differ by an ulp.
      Compare("batchnorm_train_forward", desc + " y", gy.Get(), y, [&](std::size_t i) {
        const std::size_t ch = i % cs.c;
        const double scale = gamma[ch] / std::sqrt(static_cast<double>(var[ch]) + eps);
        return 8.0 * kU * (std::fabs((x[i] - mean[ch]) * scale) + std::fabs(beta[ch])) +
               4.0 * kU * kUlp * std::fabs(mean[ch] * scale) + 1e-37;
      });
      ExpectGuards("batchnorm_train_forward", desc, gy, "y");
      ExpectUnchanged("batchnorm_train_forward", desc, dxv, x, "x");
    }
    if (cs.rows == 0) continue;
    // inference forward with the batch statistics as the moving ones
    Floats yi(n);
    nodegrad::BatchNormInferF32(x.data(), cs.rows, cs.c, gamma.data(), beta.data(), mean.data(), var.data(), eps, yi.data());
    Dev<float> cmean(mean), cvar(var), gyi(n);
    if (Guarded("batchnorm_infer_forward", desc, [&] {
          ngcuda::BatchNormInfer(dxv.p(), cs.rows, cs.c, dgamma.p(), dbeta.p(), cmean.p(), cvar.p(), eps, gyi.p());
        })) {
      Exact("batchnorm_infer_forward", desc, gyi.Get(), yi);  // same coefficients, same float operations
      ExpectGuards("batchnorm_infer_forward", desc, gyi, "y");
    }
    // backward, training and inference
    for (int training = 0; training < 2; ++training) {
      const std::string d = desc + (training ? " training" : " inference");
      Floats dx(n), dg(cs.c), db(cs.c);
      nodegrad::BatchNormBackwardF32(training, dy.data(), x.data(), cs.rows, cs.c, gamma.data(), mean.data(),
                                     var.data(), eps, dx.data(), dg.data(), db.data());
      Dev<float> gdx(n), gdg(cs.c), gdb(cs.c);
      if (!Guarded("batchnorm_backward", d, [&] {
            ngcuda::BatchNormBackward(training, ddy.p(), dxv.p(), cs.rows, cs.c, dgamma.p(), cmean.p(), cvar.p(), eps,
                                      gdx.p(), gdg.p(), gdb.p());
          }))
        continue;
      std::vector<double> sdy(cs.c, 0.0), sdyx(cs.c, 0.0);
      for (i64 r = 0; r < cs.rows; ++r)
        for (i64 ch = 0; ch < cs.c; ++ch) {
          sdy[ch] += std::fabs(dy[r * cs.c + ch]);
          sdyx[ch] += std::fabs(dy[r * cs.c + ch] * (x[r * cs.c + ch] - mean[ch]));
        }
      const double dsum = static_cast<double>(cs.rows) * 0x1p-52;  // the double sums' order difference
      Compare("batchnorm_backward", d + " dbeta", gdb.Get(), db,
              [&](std::size_t i) { return kUlp * std::fabs(db[i]) + dsum * sdy[i] + 1e-45; });
      Compare("batchnorm_backward", d + " dgamma", gdg.Get(), dg, [&](std::size_t i) {
        return kUlp * std::fabs(dg[i]) + dsum * sdyx[i] / std::sqrt(static_cast<double>(var[i]) + eps) + 1e-45;
      });
      Compare("batchnorm_backward", d + " dx", gdx.Get(), dx, [&](std::size_t i) {
        const std::size_t ch = i % cs.c;
        const double istd = 1.0 / std::sqrt(static_cast<double>(var[ch]) + eps), ga = gamma[ch] * istd;
        const double b = training ? ga * istd * istd * sdyx[ch] / cs.rows : 0.0, k = training ? ga * sdy[ch] / cs.rows : 0.0;
        return 8.0 * kU * (std::fabs(ga * dy[i]) + std::fabs(b * (x[i] - mean[ch])) + k) + 1e-37;
      });
      ExpectGuards("batchnorm_backward", d, gdx, "dx");
    }
  }
}

// ---- elementwise, reductions, softmax -------------------------------------------------------------------

// The reference backend's definitions (elementwise.ts floatUnary) of the unary ops the CPU addon lacks, with the
// host's double libm, rounded once.
float HostUnary(int op, float xf) {
  const double x = xf;
  switch (op) {
    case ngcuda::kUnarySign: return static_cast<float>(x > 0 ? 1.0 : x < 0 ? -1.0 : x);
    case ngcuda::kUnaryRsqrt: return static_cast<float>(1.0 / std::sqrt(x));
    case ngcuda::kUnaryReciprocal: return static_cast<float>(1.0 / x);
    case ngcuda::kUnaryExpm1: return static_cast<float>(std::expm1(x));
    case ngcuda::kUnaryLog1p: return static_cast<float>(std::log1p(x));
    case ngcuda::kUnarySin: return static_cast<float>(std::sin(x));
    case ngcuda::kUnaryCos: return static_cast<float>(std::cos(x));
    case ngcuda::kUnaryTan: return static_cast<float>(std::tan(x));
    case ngcuda::kUnaryAsin: return static_cast<float>(std::asin(x));
    case ngcuda::kUnaryAcos: return static_cast<float>(std::acos(x));
    case ngcuda::kUnaryAtan: return static_cast<float>(std::atan(x));
    case ngcuda::kUnarySinh: return static_cast<float>(std::sinh(x));
    case ngcuda::kUnaryCosh: return static_cast<float>(std::cosh(x));
    case ngcuda::kUnaryFloor: return static_cast<float>(std::floor(x));
    case ngcuda::kUnaryCeil: return static_cast<float>(std::ceil(x));
    case ngcuda::kUnaryRound: return static_cast<float>(std::nearbyint(x));  // half to even
    default: return static_cast<float>(std::erf(x));
  }
}

void TestElementwise() {
  Rng rng(g_seed * 1000 + 19);
  if (Enabled("unary")) {
    for (int op = 0; op < ngcuda::kUnaryOpCount; ++op) {
      for (int awk = 0; awk < 2; ++awk) {
        Floats x = awk ? AwkwardFloats(rng, 5000) : RandomFloats(rng, 5000, -20.0f, 20.0f);
        if (op == NG_UNARY_LOG || op == NG_UNARY_SQRT || op == ngcuda::kUnaryRsqrt) {
          for (float& v : x) v = std::fabs(v);
        }
        if (op == ngcuda::kUnaryAsin || op == ngcuda::kUnaryAcos || op == ngcuda::kUnaryLog1p) {
          for (float& v : x) v = v / 16.0f;  // mostly inside the domain [-1, 1] (log1p: above -1)
        }
        // half-integers (round's ties), huge and tiny values
        for (float v : {0.5f, -0.5f, 1.5f, -2.5f, 3.5f, 1e30f, -1e30f, 1e-30f, -1e-30f, 3e38f, 1e-45f, -1.0f, 1.0f}) x.push_back(v);
        Floats want(x.size());
        if (op < NG_UNARY_OP_COUNT) nodegrad::UnaryF32(op, x.data(), want.data(), x.size(), 0.2);
        else for (std::size_t i = 0; i < x.size(); ++i) want[i] = HostUnary(op, x[i]);
        Dev<float> dx(x), dy(x.size());
        const std::string d = Fmt("op %d%s", op, awk ? " awkward" : "");
        if (Guarded("unary", d, [&] { ngcuda::UnaryF32(op, dx.p(), dy.p(), static_cast<i64>(x.size()), 0.2); })) {
          // Both compute in double and round once: 1 ulp when the two double libms straddle a float boundary;
          // none for the GPU-only ops made of IEEE operations.
          const bool ieee = op == ngcuda::kUnarySign || op == ngcuda::kUnaryRsqrt || op == ngcuda::kUnaryReciprocal ||
                            op == ngcuda::kUnaryFloor || op == ngcuda::kUnaryCeil || op == ngcuda::kUnaryRound;
          Compare("unary", d, dy.Get(), want, [&](std::size_t i) { return ieee ? -1.0 : kUlp * std::fabs(want[i]) + 1e-45; });
          ExpectGuards("unary", d, dy, "y");
        }
      }
    }
  }
  if (Enabled("unary_grad")) {
    for (int op = 0; op < NG_UNARY_GRAD_OP_COUNT; ++op) {
      const Floats x = RandomFloats(rng, 4000, -8.0f, 8.0f), dy = RandomFloats(rng, 4000);
      Floats y(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) y[i] = std::tanh(x[i]);  // any y: the formulas only read it
      Floats want(x.size());
      nodegrad::UnaryGradF32(op, x.data(), y.data(), dy.data(), want.data(), x.size(), 0.3);
      Dev<float> dxv(x), dyv(y), ddy(dy), ddx(x.size());
      const std::string d = Fmt("op %d", op);
      if (Guarded("unary_grad", d, [&] {
            ngcuda::UnaryGradF32(op, dxv.p(), dyv.p(), ddy.p(), ddx.p(), static_cast<i64>(x.size()), 0.3);
          })) {
        Compare("unary_grad", d, ddx.Get(), want, [&](std::size_t i) { return kUlp * std::fabs(want[i]) + 1e-45; });
        ExpectGuards("unary_grad", d, ddx, "dx");
      }
    }
  }
  if (Enabled("fill_axpby")) {
    const Floats x = RandomFloats(rng, 3333), y0 = RandomFloats(rng, 3333);
    Floats want(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      volatile double a = 0.99 * static_cast<double>(y0[i]);  // volatile: no contraction on the host either
      volatile double b = 0.01 * static_cast<double>(x[i]);
      want[i] = static_cast<float>(b + a);
    }
    Dev<float> dx(x), dy(y0);
    if (Guarded("fill_axpby", "axpby", [&] { ngcuda::AxpbyF32(0.01, dx.p(), 0.99, dy.p(), static_cast<i64>(x.size())); })) {
      Exact("fill_axpby", "axpby 0.01 x + 0.99 y", dy.Get(), want);
      ExpectGuards("fill_axpby", "axpby", dy, "y");
    }
    Dev<float> df(1001);
    if (Guarded("fill_axpby", "fill", [&] { ngcuda::FillF32(df.p(), 1001, -2.5f); })) {
      Exact("fill_axpby", "fill -2.5", df.Get(), Floats(1001, -2.5f));
      ExpectGuards("fill_axpby", "fill", df, "y");
    }
  }
}

void TestReduce() {
  if (!Enabled("reduce")) return;
  Rng rng(g_seed * 1000 + 23);
  struct Case {
    i64 outer, len, inner;
  };
  const std::vector<Case> cases = {{1, 1, 1},    {3, 5, 1},     {1, 100000, 1}, {1000, 37, 1}, {5, 7, 33},
                                   {1, 5000, 3}, {2, 0, 3},     {4, 3, 0},      {70000, 2, 2}, {2, 6000, 1},
                                   {1, 1, 1000}, {128, 64, 10}, {1, 65536, 64}};
  for (const Case& c : cases) {
    if (g_quick && c.outer * c.len * c.inner > 200000) continue;
    for (int op = 0; op < ngcuda::kReduceOpCount; ++op) {
      const bool prod = op == ngcuda::kReduceProd;
      for (int awk = 0; awk < 2; ++awk) {
        const i64 n = c.outer * c.len * c.inner;
        // NaN/Inf semantics matter for max/min and prod (of at most 500 awkward values, |x| <= 4: no double overflow)
        if (awk && (op == NG_REDUCE_SUM || op == NG_REDUCE_MEAN || (prod && c.len > 500))) continue;
        Floats x = awk ? AwkwardFloats(rng, n) : RandomFloats(rng, n);
        if (prod && !awk) {
          // +-[1 - 1/64, 1 + 1/64], signs at random: products of 10^5 of them stay well inside float's range
          for (float& v : x) v = (rng.Int(0, 1) ? -1.0f : 1.0f) * (1.0f + v / 64.0f);
        }
        Floats want(static_cast<std::size_t>(c.outer * c.inner));
        if (!prod) {
          nodegrad::ReduceF32(op, x.data(), c.outer, c.len, c.inner, want.data());
        } else {  // the reference's product: in double, in order, rounded once
          for (i64 o = 0; o < c.outer; ++o) {
            for (i64 j = 0; j < c.inner; ++j) {
              double p = 1.0;
              for (i64 l = 0; l < c.len; ++l) p *= x[(o * c.len + l) * c.inner + j];
              want[o * c.inner + j] = static_cast<float>(p);
            }
          }
        }
        Dev<float> dx(x), dy(want.size());
        const std::string d = Fmt("op %d [%lld, %lld, %lld]%s", op, static_cast<long long>(c.outer),
                                  static_cast<long long>(c.len), static_cast<long long>(c.inner), awk ? " awkward" : "");
        if (!Guarded("reduce", d, [&] { ngcuda::ReduceF32(op, dx.p(), c.outer, c.len, c.inner, dy.p()); })) continue;
        if (op == NG_REDUCE_MAX || op == NG_REDUCE_MIN) {
          Exact("reduce", d, dy.Get(), want);
        } else if (prod) {
          // len double products in another order: each rounding 2^-53 relative, then one rounding to float.
          Compare("reduce", d, dy.Get(), want, [&](std::size_t i) {
            return kUlp * std::fabs(want[i]) + 2.0 * c.len * 0x1p-53 * std::fabs(want[i]) + 1e-45;
          });
        } else {
          std::vector<double> sabs(want.size(), 0.0);
          for (i64 o = 0; o < c.outer; ++o)
            for (i64 l = 0; l < c.len; ++l)
              for (i64 j = 0; j < c.inner; ++j) sabs[o * c.inner + j] += std::fabs(x[(o * c.len + l) * c.inner + j]);
          const double scale = op == NG_REDUCE_MEAN && c.len ? 1.0 / c.len : 1.0;
          Compare("reduce", d, dy.Get(), want, [&](std::size_t i) {
            return kUlp * std::fabs(want[i]) + 2.0 * c.len * 0x1p-53 * sabs[i] * scale + 1e-45;
          });
        }
        ExpectGuards("reduce", d, dy, "y");
      }
    }
  }
}

void TestSoftmax() {
  Rng rng(g_seed * 1000 + 29);
  // x [rows, cols, inner], softmax along cols; inner > 1 is an inner axis, checked against the CPU's rows of the
  // transpose [rows, inner, cols].
  struct Case {
    i64 rows, cols;
    float spread;
    i64 inner = 1;
  };
  const std::vector<Case> cases = {{1, 1, 1}, {5, 10, 3}, {64, 10, 20}, {7, 1000, 5}, {3, 33, 1e4f}, {2, 5000, 2}, {1000, 3, 1},
                                   {2, 3, 2, 2}, {1, 1000, 5, 3}, {5, 10, 20, 64}, {3, 0, 1, 4}, {4, 7, 1e4f, 33}, {1, 1, 1, 5},
                                   {0, 4, 1, 3}, {3, 0, 1}};
  for (const Case& c : cases) {
    const i64 n = c.rows * c.cols * c.inner;
    const Floats x = RandomFloats(rng, n, -c.spread, c.spread);
    const std::string desc = Fmt("[%lld, %lld, %lld] spread %g", static_cast<long long>(c.rows), static_cast<long long>(c.cols),
                                 static_cast<long long>(c.inner), c.spread);
    // (r, j, k) <-> (r, k, j)
    const auto moved = [&](const Floats& v, bool back) {
      Floats t(v.size());
      for (i64 r = 0; r < c.rows; ++r)
        for (i64 j = 0; j < c.cols; ++j)
          for (i64 k = 0; k < c.inner; ++k) {
            const i64 a = (r * c.cols + j) * c.inner + k, b = (r * c.inner + k) * c.cols + j;
            t[back ? a : b] = v[back ? b : a];
          }
      return t;
    };
    Dev<float> dx(x);
    for (int lg = 0; lg < 2; ++lg) {
      const char* k = lg ? "log_softmax" : "softmax";
      if (!Enabled(k)) continue;
      Floats want(x.size());
      const Floats xt = moved(x, false);
      nodegrad::SoftmaxF32(lg, xt.data(), c.rows * c.inner, c.cols, want.data());
      want = moved(want, true);
      // exp terms are identical (double exp rounded to float); the double sums differ in order only, so
      // (float)s and (float)log(s) may differ by an ulp: 2 ulps of the result, or of (x - max) for log-softmax.
      const double ls_max = std::log(static_cast<double>(std::max<i64>(c.cols, 1)));  // log(s) <= log(cols): every e <= 1
      const auto tol = [&](std::size_t i) {
        return lg ? 2.0 * kUlp * (std::fabs(want[i]) + ls_max) + 1e-45 : 2.0 * kUlp * std::fabs(want[i]) + 1e-45;
      };
      Dev<float> dy(x.size()), din(x);
      if (Guarded(k, desc, [&] { ngcuda::SoftmaxF32(lg, dx.p(), c.rows, c.cols, c.inner, dy.p()); })) {
        Compare(k, desc, dy.Get(), want, tol);
        ExpectGuards(k, desc, dy, "y");
      }
      if (Guarded(k, desc + " in place", [&] { ngcuda::SoftmaxF32(lg, din.p(), c.rows, c.cols, c.inner, din.p()); })) {
        Compare(k, desc + " in place", din.Get(), want, tol);
      }
    }
    if (c.inner > 1) continue;  // cross-entropy takes logits [rows, cols]
    // cross-entropy with int labels (some out of range: NaN rows, the first one reported) and float labels (soft rows)
    std::vector<std::int32_t> lab(static_cast<std::size_t>(c.rows));
    for (auto& l : lab) l = rng.Int(-1, static_cast<int>(c.cols));  // -1 and cols: out of range
    i64 bad_row = -1;
    for (i64 r = c.rows - 1; r >= 0; --r) if (lab[r] < 0 || lab[r] >= c.cols) bad_row = r;
    auto expect_report = [&](const char* kernel, const std::string& d, bool fl, int check) {
      if (fl || bad_row < 0) ExpectIndexError(kernel, d, 0, 0, 0, 0);
      else ExpectIndexError(kernel, d, check, bad_row, lab[bad_row], c.cols);
    };
    Floats soft = RandomFloats(rng, n, 0.0f, 1.0f);
    const Floats dloss = RandomFloats(rng, c.rows);
    Dev<std::int32_t> dlab(lab);
    Dev<float> dsoft(soft), ddloss(dloss);
    for (int fl = 0; fl < 2; ++fl) {
      const std::string d = desc + (fl ? " float labels" : " int labels");
      if (Enabled("softmax_cross_entropy_forward")) {
        Floats want(static_cast<std::size_t>(c.rows));
        nodegrad::SoftmaxCrossEntropyF32(x.data(), fl ? nullptr : lab.data(), fl ? soft.data() : nullptr, c.rows, c.cols, want.data());
        for (i64 r = 0; r < c.rows && !fl; ++r) if (lab[r] < 0 || lab[r] >= c.cols) want[r] = NAN;
        Dev<float> dl(want.size());
        if (Guarded("softmax_cross_entropy_forward", d, [&] {
              ngcuda::SoftmaxCrossEntropyF32(dx.p(), fl ? nullptr : dlab.p(), fl ? dsoft.p() : nullptr, c.rows, c.cols, dl.p());
            })) {
          // The loss is a double expression rounded once; its terms (float labels) sum in another order.
          std::vector<double> scale(want.size(), 1.0);
          if (fl)
            for (i64 r = 0; r < c.rows; ++r) {
              double s = 0.0;
              for (i64 j = 0; j < c.cols; ++j) s += soft[r * c.cols + j];
              scale[r] = s;
            }
          Compare("softmax_cross_entropy_forward", d, dl.Get(), want, [&](std::size_t i) {
            // |terms| <= w (2 spread + log(cols)); their double sum's order: cols 2^-52 of the sum of |terms|.
            return 2.0 * kUlp * std::fabs(want[i]) +
                   c.cols * 0x1p-52 * scale[i] * (2.0 * c.spread + std::log(static_cast<double>(std::max<i64>(c.cols, 1)))) + 1e-45;
          });
          ExpectGuards("softmax_cross_entropy_forward", d, dl, "loss");
          expect_report("softmax_cross_entropy_forward", d, fl, ngcuda::kCheckCrossEntropy);
        }
      }
      if (Enabled("softmax_cross_entropy_backward")) {
        Floats want(x.size());
        nodegrad::SoftmaxCrossEntropyBackwardF32(dloss.data(), x.data(), fl ? nullptr : lab.data(), fl ? soft.data() : nullptr,
                                                 c.rows, c.cols, want.data());
        for (i64 r = 0; r < c.rows && !fl; ++r) {
          if (lab[r] < 0 || lab[r] >= c.cols) std::fill(want.begin() + r * c.cols, want.begin() + (r + 1) * c.cols, NAN);
        }
        Dev<float> dd(x.size());
        if (Guarded("softmax_cross_entropy_backward", d, [&] {
              ngcuda::SoftmaxCrossEntropyBackwardF32(ddloss.p(), dx.p(), fl ? nullptr : dlab.p(), fl ? dsoft.p() : nullptr,
                                                     c.rows, c.cols, dd.p());
            })) {
          // (float)(g / s) or the double scale may differ by an ulp: 3 ulps of each element, plus the label weight's
          // term for float labels.
          Compare("softmax_cross_entropy_backward", d, dd.Get(), want, [&](std::size_t i) {
            const double w = fl ? std::fabs(soft[i] * dloss[i / c.cols]) : 0.0;
            return 3.0 * kUlp * (std::fabs(want[i]) + w) + 1e-45;
          });
          ExpectGuards("softmax_cross_entropy_backward", d, dd, "dlogits");
          expect_report("softmax_cross_entropy_backward", d, fl, ngcuda::kCheckCrossEntropyBackward);
        }
      }
    }
  }
}

// The updates unguarded (no probe) and under a probe: a finite one changes nothing (bit-exact against the CPU), a
// NaN or infinite one leaves every buffer as it was.
void TestOptim() {
  Rng rng(g_seed * 1000 + 31);
  const std::vector<i64> sizes = {1, 7, 1000, 100003};
  const struct {
    const char* name;
    float value;
  } probes[] = {
      {"no probe", 0.0f}, {"probe 0.25", 0.25f}, {"probe NaN", NAN}, {"probe inf", INFINITY}, {"probe -inf", -INFINITY}};
  for (i64 n : sizes) {
    const Floats w0 = RandomFloats(rng, n), g = RandomFloats(rng, n), m0 = RandomFloats(rng, n, -0.1f, 0.1f);
    const Floats v0 = RandomFloats(rng, n, 0.0f, 0.01f), vh0 = RandomFloats(rng, n, 0.0f, 0.01f);
    for (std::size_t pi = 0; pi < sizeof(probes) / sizeof(probes[0]); ++pi) {
      Dev<float> dprobe(Floats{probes[pi].value});
      const float* probe = pi == 0 ? nullptr : dprobe.p();
      const bool cancelled = !std::isfinite(probes[pi].value);
      if (Enabled("adam_update")) {
        for (int ams = 0; ams < 2; ++ams) {
          Floats w = w0, m = m0, v = v0, vh = vh0;
          const double alpha = 1e-3 * std::sqrt(1 - 0.999 * 0.999) / (1 - 0.9 * 0.9), keep = 1.0 - 1e-3 * 1e-2;
          if (!cancelled) {
            nodegrad::AdamUpdateF32(w.data(), g.data(), m.data(), v.data(), ams ? vh.data() : nullptr, n, alpha, 0.1,
                                    0.001, 1e-7, keep);
          }
          Dev<float> dw(w0), dg(g), dm(m0), dv(v0), dvh(vh0);
          const std::string d = Fmt("n %lld%s, %s", static_cast<long long>(n), ams ? " amsgrad" : "", probes[pi].name);
          if (Guarded("adam_update", d, [&] {
                ngcuda::AdamUpdateF32(dw.p(), dg.p(), dm.p(), dv.p(), ams ? dvh.p() : nullptr, n, alpha, 0.1, 0.001,
                                      1e-7, keep, probe);
              })) {
            Exact("adam_update", d + " w", dw.Get(), w);
            Exact("adam_update", d + " m", dm.Get(), m);
            Exact("adam_update", d + " v", dv.Get(), v);
            if (ams) Exact("adam_update", d + " vHat", dvh.Get(), vh);
            ExpectUnchanged("adam_update", d, dg, g, "g");
            ExpectUnchanged("adam_update", d, dprobe, Floats{probes[pi].value}, "probe");
          }
        }
      }
      if (Enabled("sgd_update")) {
        for (int mode = 0; mode < 3; ++mode) {  // plain, momentum, nesterov
          Floats w = w0, vel = m0;
          if (!cancelled) {
            nodegrad::SgdUpdateF32(w.data(), g.data(), mode ? vel.data() : nullptr, n, 0.01, 0.9, mode == 2, 0.9999);
          }
          Dev<float> dw(w0), dg(g), dvel(m0);
          const std::string d = Fmt("n %lld %s, %s", static_cast<long long>(n),
                                    mode == 0 ? "plain" : mode == 1 ? "momentum" : "nesterov", probes[pi].name);
          if (Guarded("sgd_update", d, [&] {
                ngcuda::SgdUpdateF32(dw.p(), dg.p(), mode ? dvel.p() : nullptr, n, 0.01, 0.9, mode == 2, 0.9999, probe);
              })) {
            Exact("sgd_update", d + " w", dw.Get(), w);
            if (mode) Exact("sgd_update", d + " velocity", dvel.Get(), vel);
            ExpectUnchanged("sgd_update", d, dprobe, Floats{probes[pi].value}, "probe");
          }
        }
      }
    }
  }
}

// ---- data movement, selection, dropout ------------------------------------------------------------------

using Words = std::vector<std::uint32_t>;

// Bit-for-bit equality of 32-bit words (float32 or int32 outputs: nothing is computed in float).
bool ExactWords(const std::string& kernel, const std::string& desc, const Words& got, const Words& want) {
  Stats& s = StatsFor(kernel);
  ++s.cases;
  std::size_t bad = 0, first = 0;
  if (got.size() == want.size()) {
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (got[i] != want[i] && bad++ == 0) first = i;
    }
  }
  if (got.size() != want.size() || bad) {
    ++s.failed;
    Fail(kernel, got.size() != want.size() ? desc + Fmt(": %zu results, want %zu", got.size(), want.size())
                                           : desc + Fmt(": %zu of %zu words differ; first index %zu: got 0x%08x want 0x%08x",
                                                        bad, got.size(), first, got[first], want[first]));
    return false;
  }
  return true;
}

Words RandomWords(Rng& r, i64 n) {
  Words v(static_cast<std::size_t>(n));
  for (auto& w : v) w = static_cast<std::uint32_t>(r.Next());
  return v;
}

template <class T>
Words AsWords(const std::vector<T>& v) {
  Words w(v.size());
  if (!v.empty()) std::memcpy(w.data(), v.data(), v.size() * 4);
  return w;
}

using Shape = std::vector<i64>;
i64 SizeOf(const Shape& s) {
  i64 n = 1;
  for (i64 d : s) n *= d;
  return n;
}
Shape StridesOf(const Shape& s) {
  Shape st(s.size(), 1);
  for (int a = static_cast<int>(s.size()) - 2; a >= 0; --a) st[a] = st[a + 1] * s[a + 1];
  return st;
}
// Row-major coordinates of flat index i.
Shape CoordOf(i64 i, const Shape& shape) {
  Shape c(shape.size());
  for (int a = static_cast<int>(shape.size()) - 1; a >= 0; --a) {
    c[a] = i % shape[a];
    i /= shape[a];
  }
  return c;
}
std::string ShapeStr(const Shape& s) {
  std::string r = "[";
  for (std::size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

// scatterAdd (gather's adjoint) against the reference's loop: per output, double sums in ascending j, rounded
// once; bit-identical, and identical run to run. Half the terms are +-2^60, which absorb and cancel the others:
// any other summation order shows.
void TestScatterAdd(Rng& rng) {
  struct S { i64 outer, n, inner, dim; std::vector<std::int32_t> idx; };
  auto random_idx = [&](i64 n, int lo, int hi) {
    std::vector<std::int32_t> v(static_cast<std::size_t>(n));
    for (auto& q : v) q = rng.Int(lo, hi);
    return v;
  };
  std::vector<S> cases = {
      {3, 7, 4, 5, {4, 0, 4, -1, 2, 4, 0}},   // repeats and a skipped -1, a middle axis
      {1, 9, 6, 4, random_idx(9, -1, 3)},     // axis 0
      {5, 8, 1, 3, random_idx(8, -1, 2)},     // the last axis
      {2, 3000, 2, 1, random_idx(3000, 0, 0)},  // one target, two sort tiles
      {2, 0, 3, 4, {}},                       // no indices: zeros
      {0, 5, 3, 4, random_idx(5, 0, 3)},      // an empty output
      {0, 3, 3, 4, {1, 7, 2}},                // an empty output still checks its indices
      {2, 4, 0, 3, {2, -1, 0, 3}},            // inner 0: checked, -1 still skipped
      {0, 3, 1, 2147483646, {5, -1, 2147483646}},  // the largest dim, an empty output: no sort, no scratch
      {2, 6, 3, 5, {1, 5, 0, -2, 9, 1}},      // out of range from position 1: all NaN, reported
      {3, 4, 2, 0, {-1, -1, -1, -1}},         // dim 0: only skips
      {1, 5000, 1, 300, random_idx(5000, -1, 299)}};  // 3 tiles, 3 passes: small enough for --quick (sanitizers)
  if (!g_quick) cases.push_back({1, 10000, 8, 50000, random_idx(10000, 0, 49999)});  // an embedding's backward
  if (!g_quick) for (std::size_t i = 0; i < 10000; i += 7) cases.back().idx[i] = 123;  // a hot row across tiles
  if (!g_quick) cases.push_back({2, 70001, 2, 3000, random_idx(70001, -1, 2999)});  // 35 tiles: the scan's chunks of 3
  for (const S& c : cases) {
    Floats g(static_cast<std::size_t>(c.outer * c.n * c.inner));
    for (float& v : g) {
      const int pick = rng.Int(0, 3);
      v = pick < 2 ? std::ldexp(pick ? -1.0f : 1.0f, 60) : std::ldexp(rng.Range(-1.0f, 1.0f), rng.Int(-20, 20));
    }
    i64 bad_at = -1;
    for (i64 j = c.n - 1; j >= 0; --j) if (c.idx[j] != -1 && (c.idx[j] < 0 || c.idx[j] >= c.dim)) bad_at = j;
    std::vector<double> acc(static_cast<std::size_t>(c.outer * c.dim * c.inner), 0.0);
    for (i64 o = 0; o < c.outer; ++o) {
      for (i64 j = 0; j < c.n; ++j) {
        const std::int32_t t = c.idx[j];
        if (t < 0 || t >= c.dim) continue;
        for (i64 k = 0; k < c.inner; ++k) acc[(o * c.dim + t) * c.inner + k] += g[(o * c.n + j) * c.inner + k];
      }
    }
    Floats want(acc.size());
    for (std::size_t i = 0; i < acc.size(); ++i) want[i] = bad_at >= 0 ? NAN : static_cast<float>(acc[i]);
    Dev<float> dg(g), dout(want.size());
    Dev<std::int32_t> didx(c.idx);
    const std::string d = Fmt("g [%lld,%lld,%lld] -> dim %lld", static_cast<long long>(c.outer), static_cast<long long>(c.n),
                              static_cast<long long>(c.inner), static_cast<long long>(c.dim));
    if (Guarded("scatter_add", d, [&] { ngcuda::ScatterAddF32(dg.p(), didx.p(), dout.p(), c.outer, c.n, c.inner, c.dim); })) {
      const Floats first = dout.Get();
      Exact("scatter_add", d, first, want);
      ExpectGuards("scatter_add", d, dout, "out");
      ExpectUnchanged("scatter_add", d, dg, g, "g");
      ExpectUnchanged("scatter_add", d, didx, c.idx, "indices");
      if (bad_at < 0) ExpectIndexError("scatter_add", d, 0, 0, 0, 0);
      else ExpectIndexError("scatter_add", d, ngcuda::kCheckScatterAdd, bad_at, c.idx[bad_at], c.dim);
      if (Guarded("scatter_add", d + " again", [&] { ngcuda::ScatterAddF32(dg.p(), didx.p(), dout.p(), c.outer, c.n, c.inner, c.dim); })) {
        ExactWords("scatter_add", d + " run to run", AsWords(dout.Get()), AsWords(first));
        ngcuda::IndexError e;
        ngcuda::TakeIndexError(&e);
      }
    }
  }
}

// Runs StridedCopy32 on x and compares with want; desc names the case.
void CheckStridedCopy(const char* kernel, const std::string& d, const Words& x, const Words& want,
                      const ngcuda::StridedCopyPlan& plan, int mode, std::uint32_t fill) {
  Dev<std::uint32_t> dx(x), dout(want.size());
  if (Guarded(kernel, d, [&] { ngcuda::StridedCopy32(dx.p(), dout.p(), plan, mode, fill); })) {
    ExactWords(kernel, d, dout.Get(), want);
    ExpectGuards(kernel, d, dout, "out");
    ExpectUnchanged(kernel, d, dx, x, "x");
  }
}

void TestMovement() {
  Rng rng(g_seed * 1000 + 37);
  if (Enabled("transpose")) {
    const std::vector<std::pair<Shape, Shape>> cases = {{{2, 3, 4}, {2, 0, 1}}, {{5, 1, 7, 3}, {3, 1, 0, 2}}, {{1}, {0}},
                                                        {{0, 3}, {1, 0}}, {{33, 17}, {1, 0}}, {{2, 3, 2, 3, 2, 2, 1, 2}, {7, 6, 5, 4, 3, 2, 1, 0}}};
    for (const auto& tc : cases) {
      const Shape &shape = tc.first, &perm = tc.second;
      const Words x = RandomWords(rng, SizeOf(shape));
      const Shape st = StridesOf(shape);
      Shape out_shape(shape.size());
      for (std::size_t a = 0; a < perm.size(); ++a) out_shape[a] = shape[perm[a]];
      Words want(static_cast<std::size_t>(SizeOf(out_shape)));
      for (i64 i = 0; i < SizeOf(out_shape); ++i) {  // out[c] = x[c'] with c'[perm[a]] = c[a]
        const Shape c = CoordOf(i, out_shape);
        i64 src = 0;
        for (std::size_t a = 0; a < perm.size(); ++a) src += c[a] * st[perm[a]];
        want[i] = x[src];
      }
      ngcuda::StridedCopyPlan p;
      p.rank = static_cast<int>(shape.size());
      for (int a = 0; a < p.rank; ++a) {
        p.out_shape[a] = p.in_dim[a] = shape[perm[a]];
        p.in_stride[a] = st[perm[a]];
        p.step[a] = 1;
      }
      CheckStridedCopy("transpose", ShapeStr(shape) + " perm " + ShapeStr(perm), x, want, p, ngcuda::kCopyInRange, 0);
    }
  }
  if (Enabled("slice")) {
    struct S { Shape shape, begin, size, steps; };
    const std::vector<S> cases = {{{6, 7, 5}, {1, 0, 2}, {3, 4, 2}, {2, 1, 1}}, {{10}, {3}, {3}, {3}},
                                  {{4, 5}, {0, 5}, {4, 0}, {1, 1}}, {{8, 8, 16, 3}, {0, 0, 0, 0}, {8, 4, 8, 3}, {1, 2, 2, 1}},
                                  {{3, 3}, {2, 2}, {1, 1}, {1, 1}}};
    for (const S& c : cases) {
      const Words x = RandomWords(rng, SizeOf(c.shape));
      const Shape st = StridesOf(c.shape);
      Words want(static_cast<std::size_t>(SizeOf(c.size)));
      for (i64 i = 0; i < SizeOf(c.size); ++i) {
        const Shape co = CoordOf(i, c.size);
        i64 src = 0;
        for (std::size_t a = 0; a < co.size(); ++a) src += (c.begin[a] + co[a] * c.steps[a]) * st[a];
        want[i] = x[src];
      }
      ngcuda::StridedCopyPlan p;
      p.rank = static_cast<int>(c.shape.size());
      for (int a = 0; a < p.rank; ++a) {
        p.out_shape[a] = c.size[a];
        p.in_dim[a] = c.shape[a];
        p.in_stride[a] = st[a];
        p.offset[a] = c.begin[a];
        p.step[a] = c.steps[a];
      }
      CheckStridedCopy("slice", ShapeStr(c.shape) + " begin " + ShapeStr(c.begin) + " size " + ShapeStr(c.size) +
                       " steps " + ShapeStr(c.steps), x, want, p, ngcuda::kCopyInRange, 0);
    }
  }
  if (Enabled("pad")) {
    struct P { Shape shape; std::vector<std::pair<i64, i64>> pads; int mode; };
    const std::vector<P> cases = {
        {{3, 4, 5}, {{1, 2}, {0, 3}, {2, 0}}, ngcuda::kCopyConstant},
        {{3, 4, 5}, {{2, 2}, {3, 0}, {1, 4}}, ngcuda::kCopyReflect},
        {{3, 4, 5}, {{3, 3}, {4, 1}, {0, 5}}, ngcuda::kCopySymmetric},
        {{2, 4, 4, 16}, {{0, 0}, {0, 0}, {0, 0}, {8, 8}}, ngcuda::kCopyConstant},  // a ResNet shortcut
        {{1}, {{0, 0}}, ngcuda::kCopyReflect},
        {{0, 2}, {{1, 1}, {1, 0}}, ngcuda::kCopyConstant},
        {{2}, {{2, 2}}, ngcuda::kCopySymmetric}};
    const std::uint32_t fill = 0x3fc00000u;  // 1.5f
    for (const P& c : cases) {
      const Words x = RandomWords(rng, SizeOf(c.shape));
      const Shape st = StridesOf(c.shape);
      Shape out_shape(c.shape.size());
      for (std::size_t a = 0; a < c.shape.size(); ++a) out_shape[a] = c.shape[a] + c.pads[a].first + c.pads[a].second;
      Words want(static_cast<std::size_t>(SizeOf(out_shape)));
      for (i64 i = 0; i < SizeOf(out_shape); ++i) {  // reference movement.ts padSource
        const Shape co = CoordOf(i, out_shape);
        i64 src = 0;
        for (std::size_t a = 0; a < co.size() && src >= 0; ++a) {
          const i64 dim = c.shape[a], q = co[a] - c.pads[a].first;
          i64 m;
          if (q >= 0 && q < dim) m = q;
          else if (c.mode == ngcuda::kCopyConstant) m = -1;
          else if (c.mode == ngcuda::kCopyReflect) m = q < 0 ? -q : 2 * (dim - 1) - q;
          else m = q < 0 ? -q - 1 : 2 * dim - 1 - q;
          src = m < 0 ? -1 : src + m * st[a];
        }
        want[i] = src < 0 ? fill : x[src];
      }
      ngcuda::StridedCopyPlan p;
      p.rank = static_cast<int>(c.shape.size());
      for (int a = 0; a < p.rank; ++a) {
        p.out_shape[a] = out_shape[a];
        p.in_dim[a] = c.shape[a];
        p.in_stride[a] = st[a];
        p.offset[a] = -c.pads[a].first;
        p.step[a] = 1;
      }
      CheckStridedCopy("pad", ShapeStr(c.shape) + Fmt(" mode %d", c.mode), x, want, p, c.mode, fill);
    }
  }
  if (Enabled("concat")) {
    const std::vector<std::pair<std::vector<Shape>, int>> cases = {
        {{{2, 3, 4}, {2, 1, 4}, {2, 5, 4}}, 1}, {{{1, 3}, {4, 3}}, 0}, {{{3, 2, 1}, {3, 2, 7}}, 2}, {{{2, 0}, {2, 3}}, 1}};
    for (const auto& cs : cases) {
      const std::vector<Shape>& shapes = cs.first;
      const int axis = cs.second;
      const Shape& first = shapes[0];
      i64 outer = 1, inner = 1, total = 0;
      for (int a = 0; a < axis; ++a) outer *= first[a];
      for (std::size_t a = axis + 1; a < first.size(); ++a) inner *= first[a];
      for (const Shape& s : shapes) total += s[axis];
      std::vector<Words> xs;
      for (const Shape& s : shapes) xs.push_back(RandomWords(rng, SizeOf(s)));
      Words want;
      for (i64 o = 0; o < outer; ++o) {
        for (std::size_t j = 0; j < shapes.size(); ++j) {
          const i64 chunk = shapes[j][axis] * inner;
          for (i64 k = 0; k < chunk; ++k) want.push_back(xs[j][o * chunk + k]);
        }
      }
      Dev<std::uint32_t> dout(want.size());
      std::vector<std::unique_ptr<Dev<std::uint32_t>>> dxs;
      for (const Words& x : xs) dxs.push_back(std::make_unique<Dev<std::uint32_t>>(x));
      const std::string d = Fmt("%zu inputs axis %d", shapes.size(), axis) + " " + ShapeStr(first);
      if (Guarded("concat", d, [&] {
            i64 offset = 0;
            for (std::size_t j = 0; j < shapes.size(); ++j) {
              const i64 chunk = shapes[j][axis] * inner;
              ngcuda::ConcatCopy32(dxs[j]->p(), dout.p(), outer, chunk, total * inner, offset);
              offset += chunk;
            }
          })) {
        ExactWords("concat", d, dout.Get(), want);
        ExpectGuards("concat", d, dout, "out");
      }
    }
  }
  if (Enabled("gather")) {
    struct G { i64 outer, dim, inner; std::vector<std::int32_t> idx; };
    std::vector<G> cases = {
        {4, 6, 3, {5, 0, 5, 2}},             // repeated indices, a middle axis
        {1, 5, 7, {4, 4, 0}},                // axis 0
        {6, 9, 1, {8, 0, 3, 3}},             // the last axis
        {4, 6, 3, {5, 0, 7, 2, -1, 6}},      // out of range from position 2: poison rows, reported
        {0, 6, 3, {1, 9}},                   // an empty output still checks its indices
        {3, 4, 2, {}}};                      // no indices
    // Bad indices in many blocks, the smallest (300, block 1) reported after block 0's 196611 under emulation's in-order 64 blocks.
    G spread{1, 1000, 1, std::vector<std::int32_t>(300000)};
    for (auto& q : spread.idx) q = rng.Int(0, 999);
    const std::pair<i64, std::int32_t> bad[] = {{12 * 16384 + 3, -7}, {100000, 5000}, {250000, INT32_MIN}, {300, 1000}, {299999, -1}};
    for (const auto& b : bad) spread.idx[b.first] = b.second;
    cases.push_back(spread);
    const std::uint32_t poison = 0x7fc00000u;
    for (const G& c : cases) {
      const i64 nidx = static_cast<i64>(c.idx.size());
      const Words x = RandomWords(rng, c.outer * c.dim * c.inner);
      Words want;
      i64 bad_at = -1;
      for (i64 j = nidx - 1; j >= 0; --j) if (c.idx[j] < 0 || c.idx[j] >= c.dim) bad_at = j;
      for (i64 o = 0; o < c.outer; ++o) {
        for (std::int32_t q : c.idx) {
          for (i64 k = 0; k < c.inner; ++k) want.push_back(q >= 0 && q < c.dim ? x[(o * c.dim + q) * c.inner + k] : poison);
        }
      }
      Dev<std::uint32_t> dx(x), dout(want.size());
      Dev<std::int32_t> didx(c.idx);
      const std::string d = Fmt("[%lld,%lld,%lld] %lld indices", static_cast<long long>(c.outer), static_cast<long long>(c.dim),
                                static_cast<long long>(c.inner), static_cast<long long>(nidx));
      if (Guarded("gather", d, [&] { ngcuda::Gather32(dx.p(), didx.p(), dout.p(), c.outer, c.dim, nidx, c.inner, poison); })) {
        ExactWords("gather", d, dout.Get(), want);
        ExpectGuards("gather", d, dout, "out");
        ExpectUnchanged("gather", d, dx, x, "x");
        if (bad_at < 0) ExpectIndexError("gather", d, 0, 0, 0, 0);
        else ExpectIndexError("gather", d, ngcuda::kCheckGather, bad_at, c.idx[bad_at], c.dim);
      }
    }
    // Two reporting launches before a read: the first one's error stands.
    const Words x = RandomWords(rng, 2 * 3);
    const std::vector<std::int32_t> first = {0, 1, 3, 4}, second = {-5, 0, 0, 0};
    Dev<std::uint32_t> dx(x), dout(8);
    Dev<std::int32_t> d1(first), d2(second);
    if (Guarded("gather", "two bad launches", [&] {
          ngcuda::Gather32(dx.p(), d1.p(), dout.p(), 2, 3, 4, 1, poison);
          ngcuda::Gather32(dx.p(), d2.p(), dout.p(), 2, 3, 4, 1, poison);
        })) {
      ExpectIndexError("gather", "two bad launches", ngcuda::kCheckGather, 2, 3, 3);
    }
  }
  if (Enabled("scatter_add")) TestScatterAdd(rng);
  if (Enabled("one_hot")) {
    const std::vector<std::int32_t> idx = {-1, 0, 3, 9, 2, 3};
    const i64 depth = 4;
    Floats want(idx.size() * depth, -0.0f);
    for (std::size_t i = 0; i < idx.size(); ++i) {
      if (idx[i] >= 0 && idx[i] < depth) want[i * depth + idx[i]] = 5.5f;
    }
    Dev<std::int32_t> didx(idx);
    Dev<float> dout(want.size());
    if (Guarded("one_hot", "depth 4", [&] { ngcuda::OneHotF32(didx.p(), dout.p(), static_cast<i64>(idx.size()), depth, 5.5f, -0.0f); })) {
      ExactWords("one_hot", "depth 4", AsWords(dout.Get()), AsWords(want));
      ExpectGuards("one_hot", "depth 4", dout, "out");
    }
  }
}

// Broadcast strides of `shape` against out (right-aligned, 0 on size-1 and missing axes).
Shape BroadcastStrides(const Shape& shape, const Shape& out) {
  const Shape st = StridesOf(shape);
  Shape r(out.size(), 0);
  const std::size_t off = out.size() - shape.size();
  for (std::size_t a = 0; a < shape.size(); ++a) r[off + a] = shape[a] == 1 ? 0 : st[a];
  return r;
}

ngcuda::BroadcastPlan MakePlan(const Shape& out, const std::vector<Shape>& ins) {
  ngcuda::BroadcastPlan p;
  p.rank = static_cast<int>(out.size());
  for (int a = 0; a < p.rank; ++a) p.out_shape[a] = out[a];
  for (std::size_t k = 0; k < ins.size(); ++k) {
    const Shape s = BroadcastStrides(ins[k], out);
    for (int a = 0; a < p.rank; ++a) p.stride[k][a] = s[a];
  }
  return p;
}

// The JS comparisons of reference elementwise.ts on the stored values.
template <class T>
bool HostCompare(int op, T a, T b) {
  switch (op) {
    case ngcuda::kCmpEqual: return a == b;
    case ngcuda::kCmpNotEqual: return !(a == b);
    case ngcuda::kCmpLess: return a < b;
    case ngcuda::kCmpLessEqual: return a <= b;
    case ngcuda::kCmpGreater: return a > b;
    case ngcuda::kCmpGreaterEqual: return a >= b;
    case ngcuda::kCmpLogicalAnd: return !(a == 0) && !(b == 0);
    default: return !(a == 0) || !(b == 0);
  }
}

// Math.max / Math.min of two doubles (NaN wins, +0 > -0).
double HostJsMax(double a, double b, bool is_min) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  if (a == 0 && b == 0) return (std::signbit(a) == std::signbit(b)) ? a : (is_min ? -0.0 : 0.0);
  return is_min ? std::min(a, b) : std::max(a, b);
}

// The reference backend's binary ops (elementwise.ts floatBinary): the CPU kernel for add, sub, mul and div, the
// double formulas with the host's libm, rounded once, for the rest.
float HostBinary(int op, float af, float bf) {
  if (op < NG_BINARY_OP_COUNT) {
    float out;
    ng_f32_binary_x1_ref(op, &af, &bf, &out, 1, 1);
    return out;
  }
  const double a = af, b = bf;
  switch (op) {
    case ngcuda::kBinaryPow: return static_cast<float>(a == 1.0 || (a == -1.0 && std::isinf(b)) ? 1.0 : std::pow(a, b));
    case ngcuda::kBinaryMaximum: return static_cast<float>(HostJsMax(a, b, false));
    case ngcuda::kBinaryMinimum: return static_cast<float>(HostJsMax(a, b, true));
    case ngcuda::kBinaryMod: {
      const double r = std::fmod(a, b);
      return static_cast<float>(r != 0 && (r < 0) != (b < 0) ? r + b : r);
    }
    case ngcuda::kBinaryFloorDiv: return static_cast<float>(std::floor(a / b));
    case ngcuda::kBinaryAtan2: return static_cast<float>(std::atan2(a, b));
    default: return static_cast<float>((a - b) * (a - b));
  }
}

// Exact, or 1 ulp where both sides call a double libm function (pow, atan2) whose last bits may differ.
double BinaryTol(int op, float want) {
  return op == ngcuda::kBinaryPow || op == ngcuda::kBinaryAtan2 ? kUlp * std::fabs(want) + 1e-45 : -1.0;
}

// Every binary op on NaN, +-0, +-Inf, ties and plain values: the CPU's row forms and general broadcasting.
void TestBinary() {
  Rng rng(g_seed * 1000 + 43);
  if (Enabled("binary")) {
    const std::vector<std::pair<i64, i64>> forms = {{1000, 1000}, {1000, 1}, {1000, 10}, {999, 27}, {1, 1}, {0, 0}, {70000, 7}};
    for (const auto& f : forms) {
      for (int op = 0; op < ngcuda::kBinaryOpCount; ++op) {
        const Floats a = AwkwardFloats(rng, f.first), b = AwkwardFloats(rng, f.second);
        Floats want(a.size());
        for (std::size_t i = 0; i < a.size(); ++i) want[i] = HostBinary(op, a[i], b[i % b.size()]);
        Dev<float> da(a), db(b), dout(a.size());
        const std::string d = Fmt("op %d n %lld bn %lld", op, static_cast<long long>(f.first), static_cast<long long>(f.second));
        const auto tol = [&](std::size_t i) { return BinaryTol(op, want[i]); };
        if (Guarded("binary", d, [&] { ngcuda::BinaryF32(op, da.p(), db.p(), dout.p(), f.first, f.second); })) {
          Compare("binary", d, dout.Get(), want, tol);
          ExpectGuards("binary", d, dout, "out");
        }
        // in place: out = a
        if (f.first && Guarded("binary", d + " in place", [&] { ngcuda::BinaryF32(op, da.p(), db.p(), da.p(), f.first, f.second); })) {
          Compare("binary", d + " in place", da.Get(), want, tol);
        }
      }
    }
    // a the float just below k b: quotients a float division would round up to the integer k (floorDiv floors the
    // double quotient), remainders just below b (mod)
    const i64 n = 4096;
    const Floats b = RandomFloats(rng, n, 0.5f, 4.0f);
    Floats a(b.size());
    for (std::size_t i = 0; i < b.size(); ++i) {
      const double p = rng.Int(-20, 20) * static_cast<double>(b[i]);
      a[i] = static_cast<float>(p);
      if (a[i] >= p) a[i] = std::nextafter(a[i], -INFINITY);
    }
    Dev<float> da(a), db(b);
    for (int op = 0; op < ngcuda::kBinaryOpCount; ++op) {
      Floats want(a.size());
      for (std::size_t i = 0; i < a.size(); ++i) want[i] = HostBinary(op, a[i], b[i]);
      Dev<float> dout(a.size());
      const std::string d = Fmt("op %d, quotients just below integers", op);
      if (Guarded("binary", d, [&] { ngcuda::BinaryF32(op, da.p(), db.p(), dout.p(), n, n); })) {
        Compare("binary", d, dout.Get(), want, [&](std::size_t i) { return BinaryTol(op, want[i]); });
      }
    }
  }
  if (Enabled("binary_broadcast")) {
    // {a, b, out}: ranks 0 to 8, both operands broadcast, size 0, and one large enough for several grid strides
    const std::vector<std::vector<Shape>> cases = {
        {{2, 3}, {2, 1}, {2, 3}},
        {{2, 3, 3, 4}, {2, 1, 1, 4}, {2, 3, 3, 4}},
        {{3, 1, 5}, {1, 4, 5}, {3, 4, 5}},
        {{1}, {6, 1}, {6, 1}},
        {{5}, {}, {5}},
        {{}, {4}, {4}},
        {{}, {}, {}},
        {{7}, {7}, {7}},
        {{0, 3}, {1, 3}, {0, 3}},
        {{2, 0}, {2, 1}, {2, 0}},
        {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
        {{3, 1, 1, 2, 1, 5}, {1, 4, 1, 1, 3, 1}, {3, 4, 1, 2, 3, 5}},
        {{2, 1, 3, 1, 2, 1, 2}, {2, 2, 1, 2, 1, 2, 1}, {2, 2, 3, 2, 2, 2, 2}},
        {{2, 1, 2, 1, 2, 1, 2, 3}, {1, 2, 1, 2, 1, 2, 1, 3}, {2, 2, 2, 2, 2, 2, 2, 3}},
        {{64, 1, 33}, {1, 70, 33}, {64, 70, 33}},
    };
    for (const auto& c : cases) {
      const Shape &as = c[0], &bs = c[1], &out = c[2];
      if (g_quick && SizeOf(out) > 20000) continue;
      const Shape sa = BroadcastStrides(as, out), sb = BroadcastStrides(bs, out);
      for (int op = 0; op < ngcuda::kBinaryOpCount; ++op) {
        const Floats a = AwkwardFloats(rng, SizeOf(as)), b = AwkwardFloats(rng, SizeOf(bs));
        Floats want(static_cast<std::size_t>(SizeOf(out)));
        for (i64 i = 0; i < SizeOf(out); ++i) {
          const Shape co = CoordOf(i, out);
          i64 oa = 0, ob = 0;
          for (std::size_t k = 0; k < co.size(); ++k) oa += co[k] * sa[k], ob += co[k] * sb[k];
          want[i] = HostBinary(op, a[oa], b[ob]);
        }
        Dev<float> da(a), db(b), dout(want.size());
        const std::string d = Fmt("op %d ", op) + ShapeStr(as) + " with " + ShapeStr(bs);
        if (Guarded("binary_broadcast", d, [&] { ngcuda::BinaryBroadcastF32(op, da.p(), db.p(), dout.p(), MakePlan(out, {as, bs})); })) {
          Compare("binary_broadcast", d, dout.Get(), want, [&](std::size_t i) { return BinaryTol(op, want[i]); });
          ExpectGuards("binary_broadcast", d, dout, "out");
          ExpectUnchanged("binary_broadcast", d, da, a, "a");
          ExpectUnchanged("binary_broadcast", d, db, b, "b");
        }
      }
    }
  }
}

void TestSelect() {
  Rng rng(g_seed * 1000 + 41);
  const std::vector<std::vector<Shape>> bcast = {{{3, 1, 5}, {1, 4, 5}, {3, 4, 5}}, {{7}, {}, {7}}, {{2, 3}, {2, 3}, {2, 3}},
                                                 {{1}, {6, 1}, {6, 1}}, {{0, 3}, {1, 3}, {0, 3}}};
  if (Enabled("compare")) {
    for (const auto& c : bcast) {
      const Shape &as = c[0], &bs = c[1], &out = c[2];
      const ngcuda::BroadcastPlan plan = MakePlan(out, {as, bs});
      const Shape sa = BroadcastStrides(as, out), sb = BroadcastStrides(bs, out);
      for (int is_int = 0; is_int < 2; ++is_int) {
        const Floats af = AwkwardFloats(rng, SizeOf(as)), bf = AwkwardFloats(rng, SizeOf(bs));
        std::vector<std::int32_t> ai(af.size()), bi(bf.size());
        for (std::size_t i = 0; i < af.size(); ++i) ai[i] = rng.Int(-2, 2);
        for (std::size_t i = 0; i < bf.size(); ++i) bi[i] = rng.Int(-2, 2);
        for (int op = 0; op < ngcuda::kCompareOpCount; ++op) {
          std::vector<std::int32_t> want(static_cast<std::size_t>(SizeOf(out)));
          for (i64 i = 0; i < SizeOf(out); ++i) {
            const Shape co = CoordOf(i, out);
            i64 oa = 0, ob = 0;
            for (std::size_t a = 0; a < co.size(); ++a) oa += co[a] * sa[a], ob += co[a] * sb[a];
            want[i] = is_int ? HostCompare<std::int32_t>(op, ai[oa], bi[ob]) : HostCompare<float>(op, af[oa], bf[ob]);
          }
          Dev<float> daf(af), dbf(bf);
          Dev<std::int32_t> dai(ai), dbi(bi), dout(want.size());
          const std::string d = Fmt("op %d %s ", op, is_int ? "int32" : "float32") + ShapeStr(as) + " vs " + ShapeStr(bs);
          if (Guarded("compare", d, [&] {
                ngcuda::Compare(op, is_int, is_int ? static_cast<const void*>(dai.p()) : daf.p(),
                                is_int ? static_cast<const void*>(dbi.p()) : dbf.p(), dout.p(), plan);
              })) {
            ExactWords("compare", d, AsWords(dout.Get()), AsWords(want));
            ExpectGuards("compare", d, dout, "out");
          }
        }
      }
    }
  }
  if (Enabled("where")) {
    const std::vector<std::vector<Shape>> cases = {{{3, 1, 1}, {1, 4, 5}, {3, 4, 1}, {3, 4, 5}}, {{5}, {5}, {5}, {5}},
                                                   {{}, {2, 2}, {}, {2, 2}}};
    for (const auto& c : cases) {
      std::vector<std::int32_t> cond(static_cast<std::size_t>(SizeOf(c[0])));
      for (auto& v : cond) v = rng.Int(0, 2) == 0 ? 0 : rng.Int(-3, 3) | 1;
      const Words a = RandomWords(rng, SizeOf(c[1])), b = RandomWords(rng, SizeOf(c[2]));
      const Shape& out = c[3];
      const Shape sc = BroadcastStrides(c[0], out), sa = BroadcastStrides(c[1], out), sb = BroadcastStrides(c[2], out);
      Words want(static_cast<std::size_t>(SizeOf(out)));
      for (i64 i = 0; i < SizeOf(out); ++i) {
        const Shape co = CoordOf(i, out);
        i64 oc = 0, oa = 0, ob = 0;
        for (std::size_t k = 0; k < co.size(); ++k) oc += co[k] * sc[k], oa += co[k] * sa[k], ob += co[k] * sb[k];
        want[i] = cond[oc] != 0 ? a[oa] : b[ob];
      }
      Dev<std::int32_t> dc(cond);
      Dev<std::uint32_t> da(a), db(b), dout(want.size());
      const std::string d = ShapeStr(c[0]) + " " + ShapeStr(c[1]) + " " + ShapeStr(c[2]);
      if (Guarded("where", d, [&] { ngcuda::Where32(dc.p(), da.p(), db.p(), dout.p(), MakePlan(out, {c[0], c[1], c[2]})); })) {
        ExactWords("where", d, dout.Get(), want);
        ExpectGuards("where", d, dout, "out");
      }
    }
  }
  if (Enabled("clip")) {
    const std::vector<std::pair<double, double>> bounds = {{-1.5, 2.25}, {0.1, 0.7}, {0.0, 0.0}, {-0.0, 6.0}, {-1e300, 1e300}};
    for (const auto& bd : bounds) {
      const double lo = bd.first, hi = bd.second;
      Floats x = AwkwardFloats(rng, 3001);
      Floats want(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) want[i] = static_cast<float>(HostJsMax(HostJsMax(x[i], lo, false), hi, true));
      Dev<float> dx(x), dout(x.size());
      const std::string d = Fmt("float32 [%g, %g]", lo, hi);
      if (Guarded("clip", d, [&] { ngcuda::ClipF32(dx.p(), dout.p(), static_cast<i64>(x.size()), lo, hi); })) {
        ExactWords("clip", d, AsWords(dout.Get()), AsWords(want));
        ExpectGuards("clip", d, dout, "out");
      }
      std::vector<std::int32_t> xi(1001), wanti(1001);
      for (std::size_t i = 0; i < xi.size(); ++i) {
        xi[i] = i % 7 == 0 ? static_cast<std::int32_t>(rng.Next()) : rng.Int(-4, 4);
        const double v = HostJsMax(HostJsMax(xi[i], lo, false), hi, true);
        // ToInt32 (the bounds here are within int32 or beyond every value, so no wrap-around)
        wanti[i] = std::isnan(v) ? 0 : static_cast<std::int32_t>(std::trunc(std::max(-2147483648.0, std::min(2147483647.0, v))));
      }
      Dev<std::int32_t> dxi(xi), douti(xi.size());
      if (Guarded("clip", d + " int32", [&] { ngcuda::ClipI32(dxi.p(), douti.p(), static_cast<i64>(xi.size()), lo, hi); })) {
        ExactWords("clip", d + " int32", AsWords(douti.Get()), AsWords(wanti));
      }
    }
  }
  if (Enabled("cast")) {
    Floats x = AwkwardFloats(rng, 2000);
    for (float v : {3e9f, -3e9f, 2147483520.0f, -2147483648.0f, 2147483648.0f, 0.999f, -0.999f, 1e-40f}) x.push_back(v);
    std::vector<std::int32_t> want(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      want[i] = std::isnan(v) ? 0 : v <= -2147483648.0 ? INT32_MIN : v >= 2147483647.0 ? INT32_MAX : static_cast<std::int32_t>(std::trunc(v));
    }
    Dev<float> dx(x);
    Dev<std::int32_t> dout(x.size());
    if (Guarded("cast", "float32 -> int32", [&] { ngcuda::CastF32ToI32(dx.p(), dout.p(), static_cast<i64>(x.size())); })) {
      ExactWords("cast", "float32 -> int32", AsWords(dout.Get()), AsWords(want));
      ExpectGuards("cast", "float32 -> int32", dout, "out");
    }
    std::vector<std::int32_t> xi;
    for (int i = 0; i < 1000; ++i) xi.push_back(static_cast<std::int32_t>(rng.Next()));
    for (std::int32_t v : {16777217, -16777217, INT32_MAX, INT32_MIN, 0, 33554435}) xi.push_back(v);
    Floats wantf(xi.size());
    for (std::size_t i = 0; i < xi.size(); ++i) wantf[i] = static_cast<float>(static_cast<double>(xi[i]));  // exact, then RN
    Dev<std::int32_t> dxi(xi);
    Dev<float> doutf(xi.size());
    if (Guarded("cast", "int32 -> float32", [&] { ngcuda::CastI32ToF32(dxi.p(), doutf.p(), static_cast<i64>(xi.size())); })) {
      ExactWords("cast", "int32 -> float32", AsWords(doutf.Get()), AsWords(wantf));
    }
  }
  if (Enabled("arg_reduce")) {
    const std::vector<Shape> forms = {{5, 7, 3}, {1, 1000, 1}, {4, 1, 6}, {3, 0, 2}, {64, 10, 1}};
    for (const Shape& f : forms) {
      const i64 outer = f[0], len = f[1], inner = f[2];
      for (int is_int = 0; is_int < 2; ++is_int) {
        Floats xf = AwkwardFloats(rng, outer * len * inner);
        if (rng.Int(0, 1)) for (float& v : xf) if (std::isnan(v)) v = 1.0f;  // some cases without NaN
        std::vector<std::int32_t> xi(xf.size());
        for (auto& v : xi) v = rng.Int(-3, 3);
        for (int is_min = 0; is_min < 2; ++is_min) {
          std::vector<std::int32_t> want(static_cast<std::size_t>(outer * inner), 0);
          for (i64 o = 0; o < outer; ++o) {
            for (i64 k = 0; k < inner; ++k) {
              i64 bi = 0;
              double best = len > 0 ? (is_int ? xi[o * len * inner + k] : xf[o * len * inner + k]) : NAN;
              for (i64 j = 1; j < len && !std::isnan(best); ++j) {
                const double v = is_int ? xi[(o * len + j) * inner + k] : xf[(o * len + j) * inner + k];
                if (std::isnan(v) || (is_min ? v < best : v > best)) best = v, bi = j;
              }
              want[o * inner + k] = static_cast<std::int32_t>(bi);
            }
          }
          Dev<float> dxf(xf);
          Dev<std::int32_t> dxi(xi), dout(want.size());
          const std::string d = Fmt("%s %s [%lld,%lld,%lld]", is_min ? "argMin" : "argMax", is_int ? "int32" : "float32",
                                    static_cast<long long>(outer), static_cast<long long>(len), static_cast<long long>(inner));
          if (Guarded("arg_reduce", d, [&] {
                ngcuda::ArgReduce(is_min, is_int, is_int ? static_cast<const void*>(dxi.p()) : dxf.p(), dout.p(), outer, len, inner);
              })) {
            ExactWords("arg_reduce", d, AsWords(dout.Get()), AsWords(want));
            ExpectGuards("arg_reduce", d, dout, "out");
          }
        }
      }
    }
  }
}

// Philox4x32-10 on the host, src/random/philox.ts transcribed (an independent copy of the GPU's).
void HostPhilox(std::uint32_t k0, std::uint32_t k1, std::uint32_t c0, std::uint32_t c1, std::uint32_t* w) {
  std::uint32_t x0 = c0, x1 = c1, x2 = 0, x3 = 0;
  for (int r = 0; r < 10; ++r) {
    const std::uint64_t p0 = std::uint64_t{0xd2511f53u} * x0, p1 = std::uint64_t{0xcd9e8d57u} * x2;
    x0 = static_cast<std::uint32_t>(p1 >> 32) ^ x1 ^ k0;
    x1 = static_cast<std::uint32_t>(p1);
    x2 = static_cast<std::uint32_t>(p0 >> 32) ^ x3 ^ k1;
    x3 = static_cast<std::uint32_t>(p0);
    k0 += 0x9e3779b9u;
    k1 += 0xbb67ae85u;
  }
  w[0] = x0, w[1] = x1, w[2] = x2, w[3] = x3;
}

void TestDropout() {
  if (!Enabled("dropout")) return;
  {  // the host Philox against blocks computed by the JS one (src/random/philox.ts philox4x32)
    std::uint32_t w[4], v[4];
    HostPhilox(42, 0, 0, 0, w);
    HostPhilox(12345, 256, 7, 1, v);
    const bool ok = w[0] == 0x9ceaf053u && w[1] == 0x77f5493bu && w[2] == 0x12bf50adu && w[3] == 0x5742b3d7u &&
                    v[0] == 0x629f74cbu && v[1] == 0xdb5c24c1u && v[2] == 0x9f558547u && v[3] == 0xa67db63au;
    Stats& s = StatsFor("dropout");
    ++s.cases;
    if (!ok) {
      ++s.failed;
      Fail("dropout", "the host Philox differs from src/random/philox.ts's known blocks");
    }
  }
  Rng rng(g_seed * 1000 + 43);
  for (i64 n : {i64{1}, i64{7}, i64{1000}, i64{4099}}) {
    for (double rate : {0.0, 0.1, 0.5, 0.999}) {
      for (std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{42}, (std::uint64_t{1} << 40) + 12345}) {
        const Floats x = AwkwardFloats(rng, n);
        Floats want_y(x.size()), want_m(x.size());
        const float scale = static_cast<float>(1.0 / (1.0 - rate));
        std::uint32_t w[4];
        for (i64 i = 0; i < n; ++i) {
          if (rate <= 0) {
            want_m[i] = 1.0f;
          } else {
            const std::uint64_t b = static_cast<std::uint64_t>(i) / 4;
            HostPhilox(static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32), static_cast<std::uint32_t>(b),
                       static_cast<std::uint32_t>(b >> 32), w);
            const double u = static_cast<double>(w[i & 3] >> 8) / 16777216.0;
            want_m[i] = u >= rate ? scale : 0.0f;
          }
          want_y[i] = static_cast<float>(static_cast<double>(x[i]) * want_m[i]);  // JS: double product, stored rounded
        }
        Dev<float> dx(x), dy(x.size()), dm(x.size());
        const std::string d = Fmt("n %lld rate %g seed %llu", static_cast<long long>(n), rate, static_cast<unsigned long long>(seed));
        if (Guarded("dropout", d, [&] { ngcuda::DropoutF32(dx.p(), dy.p(), dm.p(), n, rate, seed); })) {
          ExactWords("dropout", d + " mask", AsWords(dm.Get()), AsWords(want_m));
          ExactWords("dropout", d + " y", AsWords(dy.Get()), AsWords(want_y));
          ExpectGuards("dropout", d, dy, "y");
          ExpectGuards("dropout", d, dm, "mask");
          ExpectUnchanged("dropout", d, dx, x, "x");
        }
      }
    }
  }
}

// Bad arguments the library itself refuses (the addon refuses far more before any kernel runs).
void TestErrors() {
  if (!Enabled("errors")) return;
  auto expect_throw = [](const std::string& what, const char* needle, const std::function<void()>& fn) {
    Stats& s = StatsFor("errors");
    ++s.cases;
    try {
      fn();
      ++s.failed;
      Fail("errors", what + ": did not throw");
    } catch (const ngcuda::CudaError& e) {
      if (std::string(e.what()).find(needle) == std::string::npos) {
        ++s.failed;
        Fail("errors", what + ": message '" + e.what() + "' does not name " + needle);
      }
    }
  };
  expect_throw("sgemm with m >= 2^31", "ng_cuda_sgemm", [] {
    ngcuda::GemmArgs g;
    g.m = std::int64_t{1} << 31;
    g.n = g.k = 1;
    ngcuda::Sgemm(g);
  });
  expect_throw("unknown unary op code", "ng_cuda_unary_f32", [] { ngcuda::UnaryF32(99, nullptr, nullptr, 1, 0); });
  expect_throw("unknown reduce op code", "ng_cuda_reduce", [] { ngcuda::ReduceF32(9, nullptr, 1, 1, 1, nullptr); });
  expect_throw("an allocation larger than the device", "allocating", [] { ngcuda::Malloc(std::size_t{1} << 50, "a test"); });
}

// ---- timings --------------------------------------------------------------------------------------------

double TimeMs(const std::function<void()>& fn, int reps) {
  fn();  // warm-up (and scratch allocation)
  fn();
  ngcuda::Synchronize();
  cudaEvent_t a, b;
  ngcuda::Check(cudaEventCreate(&a), "cudaEventCreate");
  ngcuda::Check(cudaEventCreate(&b), "cudaEventCreate");
  std::vector<float> times;
  for (int r = 0; r < reps; ++r) {
    ngcuda::Check(cudaEventRecord(a, 0), "cudaEventRecord");
    fn();
    ngcuda::Check(cudaEventRecord(b, 0), "cudaEventRecord");
    ngcuda::Check(cudaEventSynchronize(b), "cudaEventSynchronize");
    float ms = 0;
    ngcuda::Check(cudaEventElapsedTime(&ms, a, b), "cudaEventElapsedTime");
    times.push_back(ms);
  }
  ngcuda::Check(cudaEventDestroy(a), "cudaEventDestroy");
  ngcuda::Check(cudaEventDestroy(b), "cudaEventDestroy");
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];  // median
}

void Bench(int size) {
  const ngcuda::DeviceInfo& d = ngcuda::Init();
  std::printf("bench: %s, median of 20 runs after 2 warm-ups (cudaEvent timing)\n", d.name.c_str());
  Rng rng(5);
  const i64 M = size, N = size, K = size;
  Dev<float> a(RandomFloats(rng, M * K)), b(RandomFloats(rng, K * N)), c(M * N);
  for (int mode = 0; mode < 4; ++mode) {  // NN, NT, TN fp32, NN tf32
    ngcuda::GemmArgs g;
    g.trans_a = mode == 2;
    g.trans_b = mode == 1;
    g.m = M;
    g.n = N;
    g.k = K;
    g.a = a.p();
    g.lda = K;
    g.b = b.p();
    g.ldb = N;
    g.c = c.p();
    g.ldc = N;
    const bool tf32 = mode == 3;
    if (tf32 && d.major < 8) continue;
    const double ms = TimeMs([&] { ngcuda::Sgemm(g, tf32); }, 20);
    std::printf("  sgemm %lldx%lldx%lld %s %-6s %8.3f ms  %8.1f GFLOP/s  [%s]\n", static_cast<long long>(M),
                static_cast<long long>(N), static_cast<long long>(K), mode == 1 ? "NT" : mode == 2 ? "TN" : "NN",
                tf32 ? "tf32" : "fp32", ms, 2.0 * M * N * K / (ms * 1e6), ngcuda::SgemmKernelName(g, tf32));
  }
  // Convolution passes of the course's convnet (W1-like) and a ResNet layer (W2-like), batch 64 and 128.
  struct C {
    const char* name;
    ConvCase c;
  };
  const std::vector<C> convs = {
      {"conv1 28x28x1->32 3x3 b64", {64, 28, 28, 1, 3, 3, 32, 1, 1, 1, 1, 0, 0, 0, 0, 1}},
      {"conv2 13x13x32->64 3x3 b64", {64, 13, 13, 32, 3, 3, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1}},
      {"conv3 5x5x64->128 3x3 b64", {64, 5, 5, 64, 3, 3, 128, 1, 1, 1, 1, 0, 0, 0, 0, 1}},
      {"resnet 32x32x64->64 3x3 same b128", {128, 32, 32, 64, 3, 3, 64, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
      {"resnet 16x16x128->128 3x3 same b128", {128, 16, 16, 128, 3, 3, 128, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
  };
  for (const C& cv : convs) {
    const ConvCase& cc = cv.c;
    const int oh = WindowOut(cc.h, cc.kh, cc.sh, cc.dh, cc.pt, cc.pb), ow = WindowOut(cc.w, cc.kw, cc.sw, cc.dw, cc.pl, cc.pr);
    const ngcuda::ConvShape s = ShapeOf<ngcuda::ConvShape>(cc, oh, ow);
    Dev<float> x(RandomFloats(rng, static_cast<i64>(cc.n) * cc.h * cc.w * cc.cin));
    Dev<float> w(RandomFloats(rng, static_cast<i64>(cc.kh) * cc.kw * cc.cin / cc.groups * cc.cout));
    Dev<float> y(static_cast<std::size_t>(cc.n) * oh * ow * cc.cout), dx(x.size()), dw(w.size());
    const double flops = 2.0 * cc.n * oh * ow * cc.cout * cc.kh * cc.kw * (cc.cin / cc.groups);
    const double f = TimeMs([&] { ngcuda::Conv2dForward(s, x.p(), w.p(), nullptr, y.p()); }, 20);
    const double bd = TimeMs([&] { ngcuda::Conv2dBackwardData(s, y.p(), w.p(), dx.p()); }, 20);
    const double bf = TimeMs([&] { ngcuda::Conv2dBackwardFilter(s, x.p(), y.p(), dw.p()); }, 20);
    std::printf("  conv %-36s fwd %7.3f ms (%6.0f GFLOP/s)  bwd-data %7.3f ms  bwd-filter %7.3f ms  [%s]\n", cv.name, f,
                flops / (f * 1e6), bd, bf, ngcuda::ConvAlgorithm(s));
  }
  std::printf("  (peer: torch.matmul with TF32 off, measured separately by native/cuda/test/torch_matmul.py)\n");
}

int Usage() {
  std::fprintf(stderr, "usage: harness [--filter <substring>] [--seed <n>] [--quick] [--bench [size]]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool bench = false;
  int bench_size = 4096;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--filter" && i + 1 < argc) g_filter = argv[++i];
    else if (a == "--quick") g_quick = true;
    else if (a == "--seed" && i + 1 < argc) g_seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--bench") {
      bench = true;
      if (i + 1 < argc && argv[i + 1][0] != '-') bench_size = std::atoi(argv[++i]);
    } else return Usage();
  }
  // The CPU oracle sums directly (no Winograd transforms, whose error bound differs).
  setenv("NODEGRAD_WINOGRAD", "0", 1);
  try {
    const ngcuda::DeviceInfo& d = ngcuda::Init();
    std::printf("nodegrad CUDA harness: %s (sm_%d%d, %d SMs, %.1f GiB), driver %d, runtime %d, built for %s\n",
                d.name.c_str(), d.major, d.minor, d.sm_count, d.total_memory / 1073741824.0, d.driver_version,
                d.runtime_version, ngcuda::CompiledArchitectures());
    if (bench) {
      Bench(bench_size);
      return 0;
    }
    // Small column chunks, so that the convolutions run several chunks (the chunk loop and beta = 1 sums).
    setenv("NODEGRAD_CUDA_COLS_MB", "1", 1);
    TestSgemm(false);
    TestSgemm(true);
    TestConv();
    TestPool();
    TestBatchNorm();
    TestElementwise();
    TestBinary();
    TestReduce();
    TestSoftmax();
    TestOptim();
    TestMovement();
    TestSelect();
    TestDropout();
    TestErrors();
    ngcuda::ReleaseScratch();  // so that compute-sanitizer's leak check sees every allocation freed
    ngcuda::Synchronize();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "harness: %s\n", e.what());
    return 3;
  }
  int failed_kernels = 0;
  for (const std::string& k : g_order) {
    const Stats& s = g_stats[k];
    const bool ok = s.failed == 0;
    if (!ok) ++failed_kernels;
    std::printf("%s %-32s %4d cases", ok ? "PASS" : "FAIL", k.c_str(), s.cases);
    if (!ok) std::printf(", %d failed", s.failed);
    if (s.worst > 0) std::printf("  (largest error / tolerance %.3g)", s.worst);
    std::printf("\n");
    for (const std::string& n : s.notes) std::printf("     %s\n", n.c_str());
  }
  std::printf("%s: %zu kernels checked, %d failed\n", failed_kernels ? "FAIL" : "PASS", g_order.size(), failed_kernels);
  return failed_kernels ? 1 : 0;
}
