/* The compiled half-step kernel (see _kernel_body.h and _kernel.py): one copy per precision
   and vector width. Each exported solve_rows_<name> pads rows to whole vectors of its width. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define REAL double
#define MASKINT int64_t
#define VBYTES 64
#define NAME(x) x##_f64
#include "_kernel_body.h"
#undef REAL
#undef MASKINT
#undef VBYTES
#undef NAME

#define REAL float
#define MASKINT int32_t
#define VBYTES 64
#define NAME(x) x##_f32
#include "_kernel_body.h"
#undef REAL
#undef MASKINT
#undef VBYTES
#undef NAME

/* float with half-width vectors: less padding for small k (k = 20 pads to 24, not 32) */
#define REAL float
#define MASKINT int32_t
#define VBYTES 32
#define NAME(x) x##_f32_narrow
#include "_kernel_body.h"
#undef REAL
#undef MASKINT
#undef VBYTES
#undef NAME
