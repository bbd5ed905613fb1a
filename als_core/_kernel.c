/* The compiled half-step kernel (see _kernel_body.h and _kernel.py): one copy per precision
   and vector width. Each exported solve_rows_<name> takes rows padded to whole vectors of its
   width and whole Gram tiles (lanes_<name>() and tile_rows() say how many; _kernel.py asks). */
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

/* Vectors as wide as the target's registers, and Gram tiles that fit in them: TILE_ROWS x 3
   accumulators, plus 3 column vectors and a broadcast. Vectors wider than the hardware's are
   split by the compiler, and GCC then keeps them in memory: with AVX2 only, 64-byte vectors
   ran 10x slower under GCC (clang 1.7x), and 32-byte ones with 4-row tiles were 1.6x faster
   than clang's split 64-byte code (benchmarks/README.md). */
#if defined(ALS_WIDE) && defined(ALS_TILE_ROWS) /* the tests try every layout on one CPU */
#define WIDE ALS_WIDE
#define TILE_ROWS ALS_TILE_ROWS
#elif defined(__AVX512F__)
#define WIDE 64 /* bytes: 32 registers of 8 doubles */
#define TILE_ROWS 8
#elif defined(__AVX__)
#define WIDE 32 /* 16 registers of 4 doubles */
#define TILE_ROWS 4
#elif defined(__aarch64__)
#define WIDE 16 /* NEON: 32 registers of 2 doubles */
#define TILE_ROWS 8
#else
#define WIDE 16 /* SSE2 and others: 16 registers of 2 doubles (or none: the compiler copes) */
#define TILE_ROWS 4
#endif

int64_t tile_rows(void) { return TILE_ROWS; }

#define REAL double
#define MASKINT int64_t
#define VBYTES WIDE
#define NLANES (WIDE / 8)
#define NAME(x) x##_f64
#include "_kernel_body.h"
#undef REAL
#undef MASKINT
#undef VBYTES
#undef NLANES
#undef NAME

#define REAL float
#define MASKINT int32_t
#define VBYTES WIDE
#define NLANES (WIDE / 4)
#define NAME(x) x##_f32
#include "_kernel_body.h"
#undef REAL
#undef MASKINT
#undef VBYTES
#undef NLANES
#undef NAME

/* float with half-width vectors: less padding for small k (k = 20 in 8 lanes pads to 24, not
   32 in 16) */
#define REAL float
#define MASKINT int32_t
#define VBYTES (WIDE / 2)
#define NLANES (WIDE / 8)
#define NAME(x) x##_f32_narrow
#include "_kernel_body.h"
#undef REAL
#undef MASKINT
#undef VBYTES
#undef NLANES
#undef NAME
