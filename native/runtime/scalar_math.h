/*
 * Broadcasting binary arithmetic and the scalar unary maths on float32 (the Backend's binary and unary,
 * src/backends/reference/elementwise.ts), called by the addon (native/addon/scalar_math.cc) after it has checked every
 * read. Each op is the reference's formula evaluated in double and rounded once to float32, so + - * / and the
 * ops built from them, selections and rounding equal the reference bit for bit; atan2 and the transcendental
 * unary ops call the C library in double (within an ulp of V8's before the float32 rounding). pow, mod, log1p,
 * asin and acos are left out: the C library's NaNs (domain errors, NaN operands) differ from V8's in their bits.
 */
#ifndef NODEGRAD_RUNTIME_SCALAR_MATH_H
#define NODEGRAD_RUNTIME_SCALAR_MATH_H

#include <cstddef>

#include "nodegrad/movement.h"

namespace nodegrad {

// Op codes of BroadcastBinaryF32, in the order of the addon's broadcastBinaryOpCodes.
enum BroadcastBinaryOp : int {
  kBinAdd, kBinSub, kBinMul, kBinDiv, kBinMaximum, kBinMinimum, kBinFloorDiv, kBinAtan2, kBinSquaredDifference,
  kBroadcastBinaryOpCount
};

// Op codes of MathUnaryF32, in the order of the addon's mathUnaryOpCodes.
enum MathUnaryOp : int {
  kMathSign, kMathRsqrt, kMathReciprocal, kMathExpm1, kMathSin, kMathCos, kMathTan, kMathAtan, kMathSinh,
  kMathCosh, kMathFloor, kMathCeil, kMathRound, kMathUnaryOpCount
};

// out = a op b (BroadcastBinaryOp); strides: [0] a, [1] b.
void BroadcastBinaryF32(int op, const float* a, const float* b, float* out, const ng_broadcast_plan& plan);
// y[i] = op(x[i]) (MathUnaryOp); y may be x.
void MathUnaryF32(int op, const float* x, float* y, std::size_t n);

}  // namespace nodegrad

#endif  // NODEGRAD_RUNTIME_SCALAR_MATH_H
