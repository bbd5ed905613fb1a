/* The exact row solver for one precision: included by _kernel.c once per REAL (double, float).

   For each listed row u with observed columns I and targets t it solves the w x w system
   (F_Iᵀ F_I + λ_u I) x = F_Iᵀ t by Cholesky, where F is the other side's factors padded with
   zero columns to wp (a whole number of VBYTES-byte vectors and of TILE_ROWS), and returns
   Σ (t − x·f)² per row.
   Written with the vector extensions GCC and clang share (vector_size types, element access,
   scalar-vector arithmetic, SHUFFLE2 from _kernel.c) so either compiler emits the machine's
   widest SIMD (-march=native) without intrinsics; see _kernel.py for how and why it is
   compiled. */

typedef REAL NAME(vec) __attribute__((vector_size(VBYTES), aligned(sizeof(REAL))));
typedef MASKINT NAME(mask) __attribute__((vector_size(VBYTES)));
#define VEC NAME(vec)
#define MASK NAME(mask)
#define LANES ((int64_t)NLANES)
_Static_assert(NLANES * sizeof(REAL) == VBYTES, "NLANES must be VBYTES / sizeof(REAL)");
#if NLANES == 2
#define LANE_LIST(F, h) F(h, 0), F(h, 1)
#elif NLANES == 4
#define LANE_LIST(F, h) F(h, 0), F(h, 1), F(h, 2), F(h, 3)
#elif NLANES == 8
#define LANE_LIST(F, h) F(h, 0), F(h, 1), F(h, 2), F(h, 3), F(h, 4), F(h, 5), F(h, 6), F(h, 7)
#elif NLANES == 16
#define LANE_LIST(F, h)                                                                       \
  F(h, 0), F(h, 1), F(h, 2), F(h, 3), F(h, 4), F(h, 5), F(h, 6), F(h, 7), F(h, 8), F(h, 9),       \
      F(h, 10), F(h, 11), F(h, 12), F(h, 13), F(h, 14), F(h, 15)
#else
#error "NLANES must be 2, 4, 8 or 16"
#endif
/* Lane q of the fold's permutes at level h (indices from NLANES up pick the second vector). */
#define FOLD_LO(h, q) ((q) % (2 * (h)) < (h) ? (q) : NLANES + (q) - (h))
#define FOLD_HI(h, q) ((q) % (2 * (h)) < (h) ? (q) + (h) : NLANES + (q))
#define PREFETCH 8 /* observations; measured best of 4, 8, 16 at MovieLens-1M shape */

/* Rows a0 .. a0 + TILE_ROWS of the Gram matrix, columns cb .. cb + NC*LANES: sum over the
   row's observations of f[a0 + r] * f[cb ...], with the TILE_ROWS x NC accumulators in
   registers. With RHS, also the right-hand side sum of t * f[cb ...] over the same columns. */
#define GRAM_TILE(NC, RHS)                                                                    \
  static inline __attribute__((always_inline)) void NAME(gram_tile_##NC##_##RHS)(           \
      REAL *G, REAL *rhs, int64_t wp, const REAL *F, const int32_t *cols, const REAL *t,      \
      int64_t n, int64_t a0, int64_t cb) {                                                    \
    VEC acc[TILE_ROWS][NC];                                                                   \
    VEC racc[NC];                                                                             \
    for (int c = 0; c < NC; c++) {                                                            \
      racc[c] = (VEC){0};                                                                     \
      for (int r = 0; r < TILE_ROWS; r++) acc[r][c] = (VEC){0};                               \
    }                                                                                         \
    for (int64_t l = 0; l < n; l++) {                                                         \
      const REAL *f = F + (int64_t)cols[l] * wp;                                              \
      if (l + PREFETCH < n) { /* rows are scattered in F: fetch a few observations ahead */   \
        const REAL *ahead = F + (int64_t)cols[l + PREFETCH] * wp;                             \
        __builtin_prefetch(ahead + a0);                                                       \
        for (int c = 0; c < NC; c++) __builtin_prefetch(ahead + cb + c * LANES);              \
      }                                                                                       \
      VEC v[NC];                                                                              \
      for (int c = 0; c < NC; c++) v[c] = *(const VEC *)(f + cb + c * LANES);                 \
      for (int r = 0; r < TILE_ROWS; r++) {                                                   \
        REAL s = f[a0 + r];                                                                   \
        for (int c = 0; c < NC; c++) acc[r][c] += s * v[c];                                   \
      }                                                                                       \
      if (RHS) {                                                                              \
        REAL s = t[l];                                                                        \
        for (int c = 0; c < NC; c++) racc[c] += s * v[c];                                     \
      }                                                                                       \
    }                                                                                         \
    for (int c = 0; c < NC; c++) {                                                            \
      for (int r = 0; r < TILE_ROWS; r++) *(VEC *)(G + (a0 + r) * wp + cb + c * LANES) = acc[r][c]; \
      if (RHS) *(VEC *)(rhs + cb + c * LANES) = racc[c];                                      \
    }                                                                                         \
  }
GRAM_TILE(1, 0)
GRAM_TILE(2, 0)
GRAM_TILE(3, 0)
GRAM_TILE(1, 1)
GRAM_TILE(2, 1)
GRAM_TILE(3, 1)
#undef GRAM_TILE

/* The upper block triangle of F_Iᵀ F_I (rows 0..wp, each from the vector block holding its
   diagonal) and the right-hand side F_Iᵀ t, in passes of at most 3 vectors of columns. Rows
   from w to wp come from the zero padding and stay 0; the right-hand side rides along in the
   first row block's passes, which together cover every column. */
static void NAME(gram)(REAL *G, REAL *rhs, int64_t wp, const REAL *F, const int32_t *cols,
                       const REAL *t, int64_t n) {
  for (int64_t a0 = 0; a0 < wp; a0 += TILE_ROWS) {
    int64_t cb = a0 - a0 % LANES;
    while (cb < wp) {
      int64_t left = (wp - cb) / LANES;
      int64_t nc = left >= 3 ? 3 : left; /* as many accumulators as the registers hold */
      if (a0 == 0) {
        if (nc == 3) NAME(gram_tile_3_1)(G, rhs, wp, F, cols, t, n, a0, cb);
        else if (nc == 2) NAME(gram_tile_2_1)(G, rhs, wp, F, cols, t, n, a0, cb);
        else NAME(gram_tile_1_1)(G, rhs, wp, F, cols, t, n, a0, cb);
      } else {
        if (nc == 3) NAME(gram_tile_3_0)(G, rhs, wp, F, cols, t, n, a0, cb);
        else if (nc == 2) NAME(gram_tile_2_0)(G, rhs, wp, F, cols, t, n, a0, cb);
        else NAME(gram_tile_1_0)(G, rhs, wp, F, cols, t, n, a0, cb);
      }
      cb += nc * LANES;
    }
  }
}

/* Row k of U from the current row k of the trailing matrix: scale by 1/sqrt(diagonal). */
static inline __attribute__((always_inline)) int NAME(pivot_row)(REAL *G, int64_t wp,
                                                                 int64_t k) {
  REAL *gk = G + k * wp;
  REAL d = gk[k];
  if (!(d > 0)) return 0;
  d = sqrt(d);
  REAL inv = 1 / d;
  for (int64_t j = (k + 1) - (k + 1) % LANES; j < wp; j += LANES) *(VEC *)(gk + j) *= inv;
  gk[k] = d;
  return 1;
}

/* In-place Cholesky A = Uᵀ U on the upper triangle of the leading w x w block; 0 if A is not
   numerically positive definite. Two pivots at a time, so each trailing row is loaded and
   stored once per pair. Rows are updated in whole vectors from the block holding the
   diagonal: entries left of the diagonal are scratch (never read where it matters: they meet
   only zeros), and the padding columns stay 0 because they are 0 in A. */
static int NAME(cholesky)(REAL *G, int64_t wp, int64_t w) {
  int64_t k = 0;
  for (; k + 1 < w; k += 2) {
    REAL *g0 = G + k * wp, *g1 = g0 + wp;
    if (!NAME(pivot_row)(G, wp, k)) return 0;
    REAL u = g0[k + 1];
    for (int64_t j = (k + 1) - (k + 1) % LANES; j < wp; j += LANES)
      *(VEC *)(g1 + j) -= u * *(const VEC *)(g0 + j);
    if (!NAME(pivot_row)(G, wp, k + 1)) return 0;
    for (int64_t i = k + 2; i < w; i++) {
      REAL *gi = G + i * wp;
      REAL u0 = g0[i], u1 = g1[i];
      for (int64_t j = i - i % LANES; j < wp; j += LANES)
        *(VEC *)(gi + j) -= u0 * *(const VEC *)(g0 + j) + u1 * *(const VEC *)(g1 + j);
    }
  }
  if (k < w) return NAME(pivot_row)(G, wp, k);
  return 1;
}

/* The sums of LANES vectors at once, by pairwise folding with two-source lane permutes (v is
   overwritten). At level h (LANES/2, ..., 1), lanes of each block of 2h take h lanes from the
   first vector then h from the second: FOLD_LO the first half of each vector's block, FOLD_HI
   the second, so their sum halves the number of vectors. Lane q of the result is the sum of
   v[perm[q]], perm found once by folding unit vectors. The permutes are constants, as clang's
   __builtin_shufflevector requires (see SHUFFLE2 above). */
#define FOLD_LEVEL(h)                                                                         \
  for (int64_t i = 0; i < (h); i++) {                                                         \
    VEC a = v[i], b = v[i + (h)];                                                             \
    v[i] = SHUFFLE2(a, b, LANE_LIST(FOLD_LO, h)) + SHUFFLE2(a, b, LANE_LIST(FOLD_HI, h));     \
  }
static inline __attribute__((always_inline)) VEC NAME(fold)(VEC *v) {
#if NLANES >= 16
  FOLD_LEVEL(8)
#endif
#if NLANES >= 8
  FOLD_LEVEL(4)
#endif
#if NLANES >= 4
  FOLD_LEVEL(2)
#endif
  FOLD_LEVEL(1)
  return v[0];
}
#undef FOLD_LEVEL

/* Σ (t − x·f)² over the row's observations, in double; LANES dot products at a time. */
static double NAME(residuals)(const REAL *x, int64_t wp, const REAL *F, const int32_t *cols,
                              const REAL *t, int64_t n, const int64_t *perm) {
  double total = 0;
  int64_t l = 0;
  for (; l + LANES <= n; l += LANES) {
    VEC p[LANES];
    for (int64_t q = 0; q < LANES; q++) {
      const REAL *f = F + (int64_t)cols[l + q] * wp;
      VEC s = (VEC){0};
      for (int64_t c = 0; c < wp; c += LANES) s += *(const VEC *)(x + c) * *(const VEC *)(f + c);
      p[q] = s;
    }
    VEC sums = NAME(fold)(p);
    for (int64_t q = 0; q < LANES; q++) {
      double r = (double)t[l + perm[q]] - (double)sums[q];
      total += r * r;
    }
  }
  for (; l < n; l++) {
    const REAL *f = F + (int64_t)cols[l] * wp;
    REAL s = 0;
    for (int64_t a = 0; a < wp; a++) s += x[a] * f[a];
    double r = (double)t[l] - (double)s;
    total += r * r;
  }
  return total;
}

int64_t NAME(lanes)(void) { return LANES; }

/* Solve every listed row; returns how many were not positive definite (their indices are
   written to `failed`, their outputs left untouched). */
int64_t NAME(solve_rows)(const int64_t *indptr, const int32_t *indices, const REAL *targets,
                         const REAL *F, int64_t wp, int64_t w, const REAL *lam,
                         const int64_t *rows, int64_t n_rows, REAL *out, double *data_terms,
                         int64_t *failed) {
  size_t bytes = (size_t)(wp * wp + 3 * wp) * sizeof(REAL);
  REAL *G = aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!G) return -1;
  REAL *rhs = G + wp * wp;
  REAL *x = rhs + wp;
  REAL *y = x + wp;
  int64_t perm[LANES];
  {
    VEC unit[LANES];
    for (int64_t i = 0; i < LANES; i++) {
      unit[i] = (VEC){0};
      unit[i][0] = (REAL)(i + 1);
    }
    VEC s = NAME(fold)(unit);
    for (int64_t q = 0; q < LANES; q++) perm[q] = (int64_t)s[q] - 1;
  }
  int64_t n_failed = 0;
  for (int64_t q = 0; q < n_rows; q++) {
    int64_t row = rows[q];
    int64_t start = indptr[row], n = indptr[row + 1] - start;
    const int32_t *cols = indices + start;
    const REAL *t = targets + start;
    NAME(gram)(G, rhs, wp, F, cols, t, n);
    REAL ridge = lam[row];
    for (int64_t a = 0; a < w; a++) G[a * wp + a] += ridge;
    if (!NAME(cholesky)(G, wp, w)) {
      failed[n_failed++] = row;
      continue;
    }
    /* Uᵀ y = b, then U x = y, in whole vectors from the block holding the diagonal: entries
       of b left of i are already consumed (y is kept apart), and the scratch entries of U
       left of the diagonal meet only zeros of x. */
    for (int64_t i = 0; i < w; i++) {
      const REAL *gi = G + i * wp;
      REAL yi = rhs[i] / gi[i];
      y[i] = yi;
      for (int64_t j = i - i % LANES; j < wp; j += LANES)
        *(VEC *)(rhs + j) -= yi * *(const VEC *)(gi + j);
    }
    for (int64_t j = 0; j < wp; j += LANES) *(VEC *)(x + j) = (VEC){0};
    for (int64_t i = w - 1; i >= 0; i--) {
      const REAL *gi = G + i * wp;
      VEC acc = (VEC){0};
      for (int64_t j = i - i % LANES; j < wp; j += LANES)
        acc += *(const VEC *)(gi + j) * *(const VEC *)(x + j);
      REAL s = 0;
      for (int64_t q = 0; q < LANES; q++) s += acc[q];
      x[i] = (y[i] - s) / gi[i];
    }
    data_terms[row] = NAME(residuals)(x, wp, F, cols, t, n, perm);
    REAL *o = out + row * w;
    for (int64_t a = 0; a < w; a++) o[a] = x[a];
  }
  free(G);
  return n_failed;
}

#undef LANES
#undef LANE_LIST
#undef FOLD_LO
#undef FOLD_HI
#undef VEC
#undef MASK
#undef PREFETCH
