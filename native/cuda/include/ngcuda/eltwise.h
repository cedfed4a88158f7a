/*
 * Elementwise ops, reductions, softmax and softmax cross-entropy on the GPU, with the CPU addon's op codes
 * (nodegrad/kernels.h ng_binary_op, nodegrad/eltwise.h ng_unary_op, ng_unary_grad_op, ng_reduce_op) and its
 * semantics (native/runtime/eltwise.h):
 * - binary: float32 IEEE ops, no contraction: bit-identical to the CPU.
 * - unary and unary gradients: computed in double with CUDA's libm and rounded once, as the CPU's ref path;
 *   within 1 ulp of it (the two double libms differ in the last double bit at most, rarely visible in float).
 * - reductions: sums in double (order differs from the CPU's: within 1 ulp), max/min with Math.max/Math.min
 *   semantics (NaN propagates, +0 > -0): exact.
 * - softmax rows: max, exp(x - max) in double rounded to float, sum in double, then the CPU's float ops.
 * Kernels: native/cuda/kernels/eltwise.cu, reduce.cu, softmax.cu.
 */
#ifndef NGCUDA_ELTWISE_H
#define NGCUDA_ELTWISE_H

#include <cstdint>

namespace ngcuda {

// out[i] = a[i] op b[i % bn] (bn == n, 1, or a divisor of n); out may be a, or b when bn == n.
void BinaryF32(int op, const float* a, const float* b, float* out, std::int64_t n, std::int64_t bn);
// y[i] = op(x[i]) (ng_unary_op); y may be x.
void UnaryF32(int op, const float* x, float* y, std::int64_t n, double alpha);
// dx[i] = dy[i] op'(x[i]) (ng_unary_grad_op) using y = op(x); dx may be x, y or dy.
void UnaryGradF32(int op, const float* x, const float* y, const float* dy, float* dx, std::int64_t n, double alpha);
// y[i] = value.
void FillF32(float* y, std::int64_t n, float value);
// y[i] = (float)(alpha * x[i] + beta * y[i]) in double (moving statistics, gradient accumulation).
void AxpbyF32(double alpha, const float* x, double beta, float* y, std::int64_t n);
// x viewed as [outer, len, inner] -> y [outer, inner] (ng_reduce_op). len == 0: sum 0, mean NaN, max -Inf, min +Inf.
void ReduceF32(int op, const float* x, std::int64_t outer, std::int64_t len, std::int64_t inner, float* y);
// Softmax (log: log-softmax) of each row of x [rows, cols]; y may be x.
void SoftmaxF32(bool log, const float* x, std::int64_t rows, std::int64_t cols, float* y);
// loss[n] for logits [n, c] and int labels [n] or float labels [n, c] (exactly one given). An int label outside
// [0, c) makes its loss NaN and is reported (ngcuda/common.h IndexCheck); n < 2^32.
void SoftmaxCrossEntropyF32(const float* logits, const std::int32_t* ilabels, const float* flabels, std::int64_t n,
                            std::int64_t c, float* loss);
// dlogits [n, c] = dloss[n] * (softmax * sum(labels[n]) - labels[n]); an int label out of range: a NaN row, reported.
void SoftmaxCrossEntropyBackwardF32(const float* dloss, const float* logits, const std::int32_t* ilabels,
                                    const float* flabels, std::int64_t n, std::int64_t c, float* dlogits);

}  // namespace ngcuda

#endif  // NGCUDA_ELTWISE_H
