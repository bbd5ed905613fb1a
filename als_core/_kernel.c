/* The compiled half-step kernel (see _kernel_body.h and _kernel.py): one copy per precision. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define REAL double
#define MASKINT int64_t
#define NAME(x) x##_f64
#include "_kernel_body.h"
#undef REAL
#undef MASKINT
#undef NAME

#define REAL float
#define MASKINT int32_t
#define NAME(x) x##_f32
#include "_kernel_body.h"
#undef REAL
#undef MASKINT
#undef NAME
