/* The compiled half-step kernel (see _kernel_body.h and _kernel.py): one copy per precision
   and vector width. Each exported solve_rows_<name> pads rows to whole vectors of its width. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* A two-source lane permute with constant indices: clang and GCC 12+ have
   __builtin_shufflevector; older GCC has only __builtin_shuffle, which takes a mask vector. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define SHUFFLE2(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUFFLE2(a, b, ...) __builtin_shuffle(a, b, (MASK){__VA_ARGS__})
#endif

#define REAL double
#define MASKINT int64_t
#define VBYTES 64
#define NLANES 8
#define NAME(x) x##_f64
#include "_kernel_body.h"
#undef REAL
#undef MASKINT
#undef VBYTES
#undef NLANES
#undef NAME

#define REAL float
#define MASKINT int32_t
#define VBYTES 64
#define NLANES 16
#define NAME(x) x##_f32
#include "_kernel_body.h"
#undef REAL
#undef MASKINT
#undef VBYTES
#undef NLANES
#undef NAME

/* float with half-width vectors: less padding for small k (k = 20 pads to 24, not 32) */
#define REAL float
#define MASKINT int32_t
#define VBYTES 32
#define NLANES 8
#define NAME(x) x##_f32_narrow
#include "_kernel_body.h"
#undef REAL
#undef MASKINT
#undef VBYTES
#undef NLANES
#undef NAME
