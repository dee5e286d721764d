/* ----------------------------------------------------------------------
   areanet: the MLP of one block of element frames, forward and backward
   (see areanet_kernels.h).  Compiled once per instruction set:
   AREANET_KERNEL_ENTRY names the function that returns this build's
   kernels.  Everything else has internal linkage.

   Rows are the (element, frame) pairs of a block; the weights are small
   (36x32, 32x64, 64x32) and stay in L1, so each product runs in tiles of
   6 rows x 2 SIMD vectors of output columns held as accumulators, and a
   hidden layer's bias and activation are applied to the tile while it is
   still in registers.  SiLU needs exp(): a vectorised exp (range reduction
   by ln 2, degree-13 polynomial in double, degree 7 in float, 2^k by
   exponent bits); its error is a few ulp.  The activation still costs about
   half as much as the products of a layer (benchmarks/native-profile.md).
------------------------------------------------------------------------- */

#include "areanet_kernels.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#if defined(__AVX__)
#include <immintrin.h>
#endif

#ifndef AREANET_KERNEL_ENTRY
#define AREANET_KERNEL_ENTRY kernels_generic
#endif
#ifndef AREANET_KERNEL_NAME
#define AREANET_KERNEL_NAME "generic"
#endif

namespace areanet {
namespace {

template <typename T> struct Vec;
template <> struct Vec<double> {
  typedef double type __attribute__((vector_size(32)));
  typedef long long itype __attribute__((vector_size(32)));
  static constexpr int lanes = 4;
};
template <> struct Vec<float> {
  typedef float type __attribute__((vector_size(32)));
  typedef int itype __attribute__((vector_size(32)));
  static constexpr int lanes = 8;
};

template <typename T> inline typename Vec<T>::type load(const T *p)
{
  typename Vec<T>::type v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T> inline void store(T *p, typename Vec<T>::type v)
{
  std::memcpy(p, &v, sizeof(v));
}

inline Vec<double>::type splat(double x)
{
  return Vec<double>::type{x, x, x, x};
}

inline Vec<float>::type splat(float x)
{
  return Vec<float>::type{x, x, x, x, x, x, x, x};
}

// x clamped to [lo, hi], NaN kept: one vmaxpd and one vminpd with AVX (maxpd returns its
// second operand when either is NaN), compare-and-select elsewhere
inline Vec<double>::type clamp(Vec<double>::type x, double lo, double hi)
{
#if defined(__AVX__)
  return _mm256_min_pd(splat(hi), _mm256_max_pd(splat(lo), x));
#else
  x = x < splat(lo) ? splat(lo) : x;
  return x > splat(hi) ? splat(hi) : x;
#endif
}

inline Vec<float>::type clamp(Vec<float>::type x, float lo, float hi)
{
#if defined(__AVX__)
  return _mm256_min_ps(splat(hi), _mm256_max_ps(splat(lo), x));
#else
  x = x < splat(lo) ? splat(lo) : x;
  return x > splat(hi) ? splat(hi) : x;
#endif
}

/* ---------------------------------------------------------------------- */
// exp, vectorised.  x is clamped so that 2^k stays a normal number.

inline Vec<double>::type vexp(Vec<double>::type x)
{
  typedef Vec<double>::type V;
  typedef Vec<double>::itype VI;
  x = clamp(x, -708.0, 708.0);
  const double shift = 6755399441055744.0;    // 1.5 * 2^52: adding it rounds to an integer
  V kd = x * 1.4426950408889634 + shift;
  const VI kbits = (VI) kd;
  kd = kd - shift;
  V r = x - kd * 0.693147180369123816490;    // ln 2, high part (exact in kd*ln2_hi)
  r = r - kd * 1.90821492927058770002e-10;   // ln 2, low part
  V p = splat(1.0 / 6227020800.0);           // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  long long shift_bits;
  std::memcpy(&shift_bits, &shift, sizeof(shift_bits));
  const VI e = (kbits - shift_bits + 1023) << 52;
  return p * (V) e;
}

inline Vec<float>::type vexp(Vec<float>::type x)
{
  typedef Vec<float>::type V;
  typedef Vec<float>::itype VI;
  x = clamp(x, -87.0f, 87.0f);
  const float shift = 12582912.0f;    // 1.5 * 2^23
  V kd = x * 1.44269504f + shift;
  const VI kbits = (VI) kd;
  kd = kd - shift;
  V r = x - kd * 0.693359375f;
  r = r - kd * -2.12194440e-4f;
  V p = splat(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int shift_bits;
  std::memcpy(&shift_bits, &shift, sizeof(shift_bits));
  const VI e = (kbits - shift_bits + 127) << 23;
  return p * (V) e;
}

/* ----------------------------------------------------------------------
   z <- act(z), slope <- act'(z), over n contiguous values
------------------------------------------------------------------------- */

template <typename T, int kind> inline void act_vec(T neg, typename Vec<T>::type &z,
                                          typename Vec<T>::type &d)
{
  typedef typename Vec<T>::type V;
  const V one = splat(T(1));
  if (kind == 0) {    // SiLU: s = sigmoid(z), h = z s, h' = s (1 + z (1 - s)) = s + h (1 - s)
    const V s = one / (one + vexp(-z));
    const V h = z * s;
    d = s + h * (one - s);
    z = h;
  } else if (kind == 1) {    // tanh: h' = 1 - h^2
    const V t = one - splat(T(2)) / (vexp(z + z) + one);
    d = one - t * t;
    z = t;
  } else {    // LeakyReLU
    const V slope = splat(neg);
    d = z > splat(T(0)) ? one : slope;
    z = z * d;
  }
}

template <typename T, int kind> inline void act_scalar(T neg, T &z, T &d)
{
  if (kind == 0) {
    const T s = T(1) / (T(1) + std::exp(-z));
    const T h = z * s;
    d = s + h * (T(1) - s);
    z = h;
  } else if (kind == 1) {
    const T t = std::tanh(z);
    d = T(1) - t * t;
    z = t;
  } else {
    d = z > T(0) ? T(1) : neg;
    z = z * d;
  }
}

// z_1 of the frames f and f' from the two parts of the paired first layer, activated:
// rows [0, n) of z and d from p + q, rows [n, 2n) from p - q.
template <typename T, int kind>
void combine_activate_kind(T neg, long n, const T *p, const T *q, T *z, T *d)
{
  constexpr int L = Vec<T>::lanes;
  long i = 0;
  for (; i + L <= n; i += L) {
    const typename Vec<T>::type pv = load(p + i), qv = load(q + i);
    typename Vec<T>::type plus = pv + qv, minus = pv - qv, dv;
    act_vec<T, kind>(neg, plus, dv);
    store(z + i, plus);
    store(d + i, dv);
    act_vec<T, kind>(neg, minus, dv);
    store(z + n + i, minus);
    store(d + n + i, dv);
  }
  for (; i < n; i++) {
    T plus = p[i] + q[i], minus = p[i] - q[i];
    act_scalar<T, kind>(neg, plus, d[i]);
    z[i] = plus;
    act_scalar<T, kind>(neg, minus, d[n + i]);
    z[n + i] = minus;
  }
}

template <typename T>
void combine_activate(int kind, T neg, long n, const T *p, const T *q, T *z, T *d)
{
  if (kind == 0)
    combine_activate_kind<T, 0>(neg, n, p, q, z, d);
  else if (kind == 1)
    combine_activate_kind<T, 1>(neg, n, p, q, z, d);
  else
    combine_activate_kind<T, 2>(neg, n, p, q, z, d);
}

/* ----------------------------------------------------------------------
   C[r][c] = Σ_k A[r][k] B[k][c], then per MODE: nothing; × D[r][c]; or + bias[c]
   and the activation (D[r][c] <- act'(z), C[r][c] <- act(z)) while the sums
   are still in registers.

   Register blocking: RB rows × NV vectors of columns are accumulated at once.
   Per k that takes NV loads of B and RB broadcasts of A for RB·NV FMAs; with
   6 × 2 (12 accumulators, 15 of the 16 AVX2 registers) the two FMA pipes,
   not the load ports, set the pace.  One row at a time (8 vectors) needed 9
   loads per 8 FMAs.
------------------------------------------------------------------------- */

enum { PLAIN = 0, TIMES_D = 1, BIAS = 2, BIAS_ACT = 3 };

template <typename T, int NV, int RB, int MODE, int ACT>
inline void gemm_tile(int r, int K, const T *A, int lda, const T *B, int ldb, int c0, const T *bias,
                      T neg, T *D, int ldd, T *C, int ldc)
{
  typedef typename Vec<T>::type V;
  constexpr int L = Vec<T>::lanes;
  V acc[RB][NV];
#pragma GCC unroll 8
  for (int i = 0; i < RB; i++)
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++) acc[i][j] = MODE >= BIAS ? load(bias + c0 + j * L) : splat(T(0));
  const T *a = A + (long) r * lda;
  const T *b = B + c0;
  for (int k = 0; k < K; k++, b += ldb) {
    V bk[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++) bk[j] = load(b + j * L);
#pragma GCC unroll 8
    for (int i = 0; i < RB; i++) {
      const V ak = splat(a[(long) i * lda + k]);
#pragma GCC unroll 8
      for (int j = 0; j < NV; j++) acc[i][j] += ak * bk[j];
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < RB; i++) {
    T *c = C + (long) (r + i) * ldc + c0;
    T *d = MODE == TIMES_D || MODE == BIAS_ACT ? D + (long) (r + i) * ldd + c0 : nullptr;
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++) {
      if (MODE == TIMES_D) acc[i][j] *= load(d + j * L);
      if (MODE == BIAS_ACT) {
        V slope;
        act_vec<T, ACT>(neg, acc[i][j], slope);
        store(d + j * L, slope);
      }
      store(c + j * L, acc[i][j]);
    }
  }
}

template <typename T, int NV, int RB, int MODE, int ACT>
void gemm_columns(int R, int K, const T *A, int lda, const T *B, int ldb, int c0, const T *bias,
                  T neg, T *D, int ldd, T *C, int ldc)
{
  int r = 0;
  for (; r + RB <= R; r += RB)
    gemm_tile<T, NV, RB, MODE, ACT>(r, K, A, lda, B, ldb, c0, bias, neg, D, ldd, C, ldc);
  for (; r < R; r++)    // the last rows, one at a time
    gemm_tile<T, NV, 1, MODE, ACT>(r, K, A, lda, B, ldb, c0, bias, neg, D, ldd, C, ldc);
}

// columns past the last whole SIMD vector (none for the padded layouts the kernels use)
template <typename T, int MODE, int ACT>
void gemm_tail(int R, int K, const T *A, int lda, const T *B, int ldb, int c0, int c1,
               const T *bias, T neg, T *D, int ldd, T *C, int ldc)
{
  for (int r = 0; r < R; r++) {
    const T *a = A + (long) r * lda;
    for (int c = c0; c < c1; c++) {
      T acc = MODE >= BIAS ? bias[c] : T(0);
      for (int k = 0; k < K; k++) acc += a[k] * B[(long) k * ldb + c];
      if (MODE == TIMES_D) acc *= D[(long) r * ldd + c];
      if (MODE == BIAS_ACT) act_scalar<T, ACT>(neg, acc, D[(long) r * ldd + c]);
      C[(long) r * ldc + c] = acc;
    }
  }
}

template <typename T, int MODE, int ACT>
void gemm_act(int R, int K, int N, const T *A, int lda, const T *B, int ldb, const T *bias, T neg,
              T *D, int ldd, T *C, int ldc)
{
  constexpr int L = Vec<T>::lanes;
  int c = 0;
  for (; c + 2 * L <= N; c += 2 * L)
    gemm_columns<T, 2, 6, MODE, ACT>(R, K, A, lda, B, ldb, c, bias, neg, D, ldd, C, ldc);
  if (c + L <= N) {
    gemm_columns<T, 1, 8, MODE, ACT>(R, K, A, lda, B, ldb, c, bias, neg, D, ldd, C, ldc);
    c += L;
  }
  if (c < N) gemm_tail<T, MODE, ACT>(R, K, A, lda, B, ldb, c, N, bias, neg, D, ldd, C, ldc);
}

// C = A·B, C = (A·B) ⊙ D, or C = A·B + bias
template <typename T, int MODE>
void gemm(int R, int K, int N, const T *A, int lda, const T *B, int ldb, const T *bias, const T *D,
          int ldd, T *C, int ldc)
{
  gemm_act<T, MODE, 0>(R, K, N, A, lda, B, ldb, bias, T(0), const_cast<T *>(D), ldd, C, ldc);
}

// C = act(A·B + bias), D = act'(A·B + bias)
template <typename T>
void gemm_bias_act(const KernelNet<T> &net, int R, int K, int N, const T *A, int lda, const T *B,
                   int ldb, const T *bias, T *D, T *C)
{
  if (net.activation == 0)
    gemm_act<T, BIAS_ACT, 0>(R, K, N, A, lda, B, ldb, bias, net.negative_slope, D, N, C, N);
  else if (net.activation == 1)
    gemm_act<T, BIAS_ACT, 1>(R, K, N, A, lda, B, ldb, bias, net.negative_slope, D, N, C, N);
  else
    gemm_act<T, BIAS_ACT, 2>(R, K, N, A, lda, B, ldb, bias, net.negative_slope, D, N, C, N);
}

/* ----------------------------------------------------------------------
   the MLP of `rows` rows and its input gradient (the order of operations
   of mlp_value_and_input_grad in potential/model.py)
------------------------------------------------------------------------- */

// Layers 2 .. n_hidden forward from h_1 = act(z_1) (in work.h[0], act'(z_1) in
// work.slope[0]), the output, and the backward pass down to g_1 = d out / d z_1, which is
// returned.
template <typename T> T *mlp_middle(const KernelNet<T> &net, int rows, KernelWork<T> &work, T *out)
{
  const int nh = net.n_hidden;
  const auto &width = net.width;
  T *h = work.h[0].data();
  for (int k = 1; k < nh; k++) {
    T *z = work.h[k % 2].data();
    gemm_bias_act<T>(net, rows, width[k], width[k + 1], h, width[k], net.wt[k].data(), width[k + 1],
                     net.b[k].data(), work.slope[k].data(), z);
    h = z;
  }

  // output, and the gradient at the last hidden layer: slope ⊙ w_out
  const int wl = width[nh];
  const T *slope = work.slope[nh - 1].data();
  T *g = work.g[0].data();
  const T *w = net.w_out.data();
  for (int r = 0; r < rows; r++) {
    const T *hr = h + (long) r * wl;
    T acc = net.b_out;
    for (int c = 0; c < wl; c++) acc += hr[c] * w[c];
    out[r] = acc;
    const T *sr = slope + (long) r * wl;
    T *gr = g + (long) r * wl;
    for (int c = 0; c < wl; c++) gr[c] = sr[c] * w[c];
  }

  // back through the hidden layers
  int which = 0;
  for (int k = nh - 1; k >= 1; k--) {
    T *next = work.g[1 - which].data();
    gemm<T, TIMES_D>(rows, width[k + 1], width[k], g, width[k + 1], net.w[k].data(), width[k],
                     nullptr, work.slope[k - 1].data(), width[k], next, width[k]);
    g = next;
    which = 1 - which;
  }
  return g;
}

template <typename T>
void mlp(const KernelNet<T> &net, int rows, const T *x, KernelWork<T> &work, T *out, T *gx)
{
  const auto &width = net.width;
  gemm_bias_act<T>(net, rows, width[0], width[1], x, width[0], net.wt[0].data(), width[1],
                   net.b[0].data(), work.slope[0].data(), work.h[0].data());
  const T *g = mlp_middle(net, rows, work, out);
  // W_0 is stored with its columns padded to a whole number of SIMD vectors (zeros)
  gemm<T, PLAIN>(rows, width[1], net.n_in_padded, g, width[1], net.w[0].data(), net.n_in_padded,
                 nullptr, nullptr, 0, gx, net.n_in_padded);
}

template <typename T>
void mlp_paired(const KernelNet<T> &net, int pairs, const T *xa, const T *xb, KernelWork<T> &work,
                T *out, T *ga, T *gb)
{
  const int w1 = net.width[1];
  const long half = (long) pairs * w1;
  T *z = work.h[0].data();    // rows [0, pairs): frames f;  [pairs, 2 pairs): frames f'
  T *p = work.h[1].data();
  T *q = work.g[0].data();
  gemm<T, BIAS>(pairs, net.n_a, w1, xa, net.n_a, net.wt_a.data(), w1, net.b_paired.data(), nullptr,
                0, p, w1);
  gemm<T, PLAIN>(pairs, net.n_b, w1, xb, net.n_b, net.wt_b.data(), w1, nullptr, nullptr, 0, q, w1);
  combine_activate<T>(net.activation, net.negative_slope, half, p, q, z, work.slope[0].data());
  T *g = mlp_middle(net, 2 * pairs, work, out);
  T *sum = work.h[1].data();
  T *diff = work.h[1].data() + half;
  for (long i = 0; i < half; i++) {
    sum[i] = g[i] + g[half + i];
    diff[i] = g[i] - g[half + i];
  }
  gemm<T, PLAIN>(pairs, w1, net.n_a_padded, sum, w1, net.w_a.data(), net.n_a_padded, nullptr,
                 nullptr, 0, ga, net.n_a_padded);
  gemm<T, PLAIN>(pairs, w1, net.n_b_padded, diff, w1, net.w_b.data(), net.n_b_padded, nullptr,
                 nullptr, 0, gb, net.n_b_padded);
}

}    // namespace

KernelSet AREANET_KERNEL_ENTRY()
{
  KernelSet set;
  set.name = AREANET_KERNEL_NAME;
  set.f64.mlp = &mlp<double>;
  set.f32.mlp = &mlp<float>;
  set.f64.mlp_paired = &mlp_paired<double>;
  set.f32.mlp_paired = &mlp_paired<float>;
  return set;
}

}    // namespace areanet
