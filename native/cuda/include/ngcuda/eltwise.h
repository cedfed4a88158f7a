/*
 * Elementwise ops, reductions, softmax and softmax cross-entropy on the GPU, with the CPU addon's op codes
 * (nodegrad/kernels.h ng_binary_op, nodegrad/eltwise.h ng_unary_op, ng_unary_grad_op, ng_reduce_op), continued
 * below by the ops only these kernels have (the CPU backend runs them on the reference), and the semantics of
 * src/backends/reference (native/runtime/eltwise.h for the CPU's ops):
 * - binary: add, sub, mul, div are float32 IEEE ops, no contraction: bit-identical to the CPU. The others are the
 *   reference's double formulas rounded once: maximum, minimum (Math.max / Math.min: NaN propagates, +0 > -0), mod
 *   (floormod: fmod, plus b when the signs differ), floorDiv (floor of the double quotient), squaredDifference
 *   ((a - b)^2 in double) exact; pow (C's pow, which is the reference's cPow) and atan2 from CUDA's double libm,
 *   within 1 ulp of the CPU's.
 * - unary and unary gradients: computed in double with CUDA's libm and rounded once, as the CPU's ref path and the
 *   reference; within 1 ulp of them (the two double libms differ in the last double bit at most, rarely visible in
 *   float). sign, rsqrt, reciprocal, floor, ceil, round (half to even), relu-like selections: exact.
 * - reductions: sums and products in double (order differs from the CPU's: within 1 ulp, unless a partial product
 *   leaves double's range in one order only), max/min with Math.max/Math.min semantics (NaN propagates,
 *   +0 > -0): exact.
 * - softmax along any axis of x [outer, len, inner]: max, exp(x - max) in double rounded to float, sum in double,
 *   then the CPU's float ops; deterministic (the summation order depends only on the shape).
 * Kernels: native/cuda/kernels/eltwise.cu, reduce.cu, softmax.cu.
 */
#ifndef NGCUDA_ELTWISE_H
#define NGCUDA_ELTWISE_H

#include <cstdint>

#include "ngcuda/common.h"
#include "nodegrad/eltwise.h"
#include "nodegrad/kernels.h"

namespace ngcuda {

// Binary op codes after the CPU's add, sub, mul, div.
enum BinaryOpCode : int {
  kBinaryPow = NG_BINARY_OP_COUNT, kBinaryMaximum, kBinaryMinimum, kBinaryMod, kBinaryFloorDiv, kBinaryAtan2,
  kBinarySquaredDifference, kBinaryOpCount
};
// Unary op codes after the CPU's activations and maths (reference elementwise.ts floatUnary).
enum UnaryOpCode : int {
  kUnarySign = NG_UNARY_OP_COUNT, kUnaryRsqrt, kUnaryReciprocal, kUnaryExpm1, kUnaryLog1p, kUnarySin, kUnaryCos,
  kUnaryTan, kUnaryAsin, kUnaryAcos, kUnaryAtan, kUnarySinh, kUnaryCosh, kUnaryFloor, kUnaryCeil, kUnaryRound,
  kUnaryErf, kUnaryOpCount
};
// Reduction op codes after the CPU's sum, mean, max, min.
enum ReduceOpCode : int { kReduceProd = NG_REDUCE_OP_COUNT, kReduceOpCount };

// out[i] = a[i] op b[i % bn] (bn == n, 1, or a divisor of n); out may be a, or b when bn == n.
void BinaryF32(int op, const float* a, const float* b, float* out, std::int64_t n, std::int64_t bn);
// out[prod(out_shape)] = a op b read through the plan's strides (inputs 0 and 1); out must not overlap a or b.
void BinaryBroadcastF32(int op, const float* a, const float* b, float* out, const BroadcastPlan& plan);
// y[i] = op(x[i]) (ng_unary_op); y may be x.
void UnaryF32(int op, const float* x, float* y, std::int64_t n, double alpha);
// dx[i] = dy[i] op'(x[i]) (ng_unary_grad_op) using y = op(x); dx may be x, y or dy.
void UnaryGradF32(int op, const float* x, const float* y, const float* dy, float* dx, std::int64_t n, double alpha);
// y[i] = value.
void FillF32(float* y, std::int64_t n, float value);
// y[i] = (float)(alpha * x[i] + beta * y[i]) in double (moving statistics, gradient accumulation).
void AxpbyF32(double alpha, const float* x, double beta, float* y, std::int64_t n);
// x viewed as [outer, len, inner] -> y [outer, inner] (ng_reduce_op, kReduceProd). len == 0: sum 0, mean NaN,
// max -Inf, min +Inf, prod 1.
void ReduceF32(int op, const float* x, std::int64_t outer, std::int64_t len, std::int64_t inner, float* y);
// Softmax (log: log-softmax) of x [outer, len, inner] along its middle axis (inner 1: rows); y may be x.
void SoftmaxF32(bool log, const float* x, std::int64_t outer, std::int64_t len, std::int64_t inner, float* y);
// loss[n] for logits [n, c] and int labels [n] or float labels [n, c] (exactly one given). An int label outside
// [0, c) makes its loss NaN and is reported (ngcuda/common.h IndexCheck); n < 2^32.
void SoftmaxCrossEntropyF32(const float* logits, const std::int32_t* ilabels, const float* flabels, std::int64_t n,
                            std::int64_t c, float* loss);
// dlogits [n, c] = dloss[n] * (softmax * sum(labels[n]) - labels[n]); an int label out of range: a NaN row, reported.
void SoftmaxCrossEntropyBackwardF32(const float* dloss, const float* logits, const std::int32_t* ilabels,
                                    const float* flabels, std::int64_t n, std::int64_t c, float* dlogits);

}  // namespace ngcuda

#endif  // NGCUDA_ELTWISE_H
