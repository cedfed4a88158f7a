/*
 * Data movement and selection (C ABI, declarations only): the copy modes and comparison codes, and the plans the
 * CPU drivers take (native/runtime/movement.h, select.h). The addon exports the codes as copyModeCodes and
 * compareOpCodes so TypeScript never repeats them; the CUDA addon's ngcuda/movement.h and select.h use the same values.
 */
#ifndef NODEGRAD_MOVEMENT_H
#define NODEGRAD_MOVEMENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Axes a strided copy or a broadcast takes at most. */
#define NG_MAX_STRIDED_RANK 8

/* How a strided copy reads a position p outside [0, in_dim) of an input axis. */
typedef enum ng_copy_mode {
  NG_COPY_IN_RANGE = 0,   /* never happens: the addon refuses such a copy */
  NG_COPY_CONSTANT = 1,   /* the fill value */
  NG_COPY_REFLECT = 2,    /* mirrored about the edge element: dcba|abcd -> cb|abcd */
  NG_COPY_SYMMETRIC = 3,  /* mirrored with the edge element repeated: ba|abcd */
  NG_COPY_MODE_COUNT = 4
} ng_copy_mode;

typedef enum ng_compare_op {
  NG_CMP_EQUAL = 0,
  NG_CMP_NOT_EQUAL = 1,
  NG_CMP_LESS = 2,
  NG_CMP_LESS_EQUAL = 3,
  NG_CMP_GREATER = 4,
  NG_CMP_GREATER_EQUAL = 5,
  NG_CMP_LOGICAL_AND = 6,  /* any nonzero value, NaN included, is true */
  NG_CMP_LOGICAL_OR = 7,
  NG_CMP_OP_COUNT = 8
} ng_compare_op;

/* Output coordinate c (row-major over out_shape) reads position p = offset[a] + c[a] * step[a] of input axis a
   (length in_dim[a]), mapped by the copy mode; the element read is sum p[a] * in_stride[a]. */
typedef struct ng_copy_plan {
  int rank;
  int64_t out_shape[NG_MAX_STRIDED_RANK];
  int64_t in_dim[NG_MAX_STRIDED_RANK];
  int64_t in_stride[NG_MAX_STRIDED_RANK];
  int64_t offset[NG_MAX_STRIDED_RANK];
  int64_t step[NG_MAX_STRIDED_RANK];
} ng_copy_plan;

/* Up to three inputs read over out_shape: input k's element for output coordinate c is sum c[a] * stride[k][a]
   (0 on broadcast axes). */
typedef struct ng_broadcast_plan {
  int rank;
  int64_t out_shape[NG_MAX_STRIDED_RANK];
  int64_t stride[3][NG_MAX_STRIDED_RANK];
} ng_broadcast_plan;

#ifdef __cplusplus
}
#endif

#endif /* NODEGRAD_MOVEMENT_H */
