/*
 * Elementwise, reduction, softmax and softmax cross-entropy drivers, called by the addon
 * (native/addon/eltwise.cc) after it has checked every length and code. Baseline-ISA code over the kernels of
 * nodegrad/eltwise.h (and the binary kernel for row scaling). Sums run in double; every split of work depends
 * only on the shape, so results are bit-identical for any thread count.
 */
#ifndef NODEGRAD_RUNTIME_ELTWISE_H
#define NODEGRAD_RUNTIME_ELTWISE_H

#include <cstddef>
#include <cstdint>

namespace nodegrad {

// y[i] = op(x[i]) (ng_unary_op); y may be x.
void UnaryF32(int op, const float* x, float* y, std::size_t n, double alpha);
// dx[i] = dy[i] * op'(x[i]) (ng_unary_grad_op) using y[i] = op(x[i]); dx may be x, y or dy.
void UnaryGradF32(int op, const float* x, const float* y, const float* dy, float* dx, std::size_t n, double alpha);
// x viewed as [outer, len, inner] -> y [outer, inner], reducing the middle axis (ng_reduce_op). len == 0 gives
// the identity: sum 0, mean NaN, max -Infinity, min +Infinity.
void ReduceF32(int op, const float* x, std::size_t outer, std::size_t len, std::size_t inner, float* y);
// Softmax (log: log-softmax) of each row of x [rows, cols].
void SoftmaxF32(bool log, const float* x, std::size_t rows, std::size_t cols, float* y);
// loss[n] for logits [n, c] and int labels [n] (out of range: loss 0) or float labels [n, c] (exactly one given).
void SoftmaxCrossEntropyF32(const float* logits, const std::int32_t* ilabels, const float* flabels, std::size_t n,
                            std::size_t c, float* loss);
// dlogits [n, c] = dloss[n] * (softmax * sum(labels[n]) - labels[n]).
void SoftmaxCrossEntropyBackwardF32(const float* dloss, const float* logits, const std::int32_t* ilabels,
                                    const float* flabels, std::size_t n, std::size_t c, float* dlogits);

}  // namespace nodegrad

#endif  // NODEGRAD_RUNTIME_ELTWISE_H
