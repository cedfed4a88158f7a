// Winograd F(2x2, 3x3) input and output transforms, built with this folder's ISA flags (the loops are shared:
// ../wino23_f32.inc, vectorised by the compiler). Plain loops and static helpers only (ODR rule of kernels.h).
#include <stddef.h>

#include "nodegrad/conv.h"

#define NG_WINO_SUFFIX avx512
#include "../wino23_f32.inc"
