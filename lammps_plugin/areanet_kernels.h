/* ----------------------------------------------------------------------
   areanet: the MLP of one block of element frames, forward and backward.

   areanet_kernels.cpp is compiled twice, for plain x86-64 (or whatever the
   target is) and with AVX2+FMA; areanet_native.cpp picks one at run time.
   Plain C++17 with GCC/Clang vector extensions; no torch, no LAMMPS.
------------------------------------------------------------------------- */

#ifndef AREANET_KERNELS_H
#define AREANET_KERNELS_H

#include <cstddef>
#include <vector>

namespace areanet {

// Values per SIMD vector in the kernels (32-byte vectors in every build).
template <typename T> constexpr int kernel_lanes() { return 32 / sizeof(T); }

// One MLP in the layout the kernels use, in precision T.
//   hidden layer k (k < n_hidden): z = h·W_kᵀ + b_k, h' = act(z)
//   output: out = h·w_out + b_out (the first output of the last Linear)
template <typename T> struct KernelNet {
  int n_hidden = 0;
  std::vector<int> width;              // [n_hidden+1] inputs, then each hidden width
  std::vector<std::vector<T>> wt;      // [n_hidden] W_kᵀ, [width[k]][width[k+1]] (forward)
  std::vector<std::vector<T>> w;       // [n_hidden] W_k,  [width[k+1]][width[k]] (backward);
                                       // W_0's rows padded to n_in_padded columns (zeros)
  int n_in_padded = 0;                 // width[0] rounded up to whole SIMD vectors
  std::vector<std::vector<T>> b;       // [n_hidden] b_k
  std::vector<T> w_out;                // [width[n_hidden]]
  T b_out = 0;
  int activation = 0;                  // NativeSpec::Activation
  T negative_slope = T(0.01);

  // Paired frames (dims = 3): frames f and f' = f + F/2 differ only in the sign of z, so
  // the first layer splits into an in-plane part a and an out-of-plane part b,
  //   z_1(f) = A x_a + b' + B x_b,   z_1(f') = A x_a + b' - B x_b,
  // computed once per pair (half the first layer's products, forward and backward).
  bool paired = false;
  int n_a = 0, n_b = 0;                // inputs of each part
  int n_a_padded = 0, n_b_padded = 0;  // rounded up to whole SIMD vectors
  std::vector<T> wt_a, wt_b;           // Aᵀ [n_a][width[1]], Bᵀ [n_b][width[1]]
  std::vector<T> w_a, w_b;             // A [width[1]][n_a_padded], B [width[1]][n_b_padded]
  std::vector<T> b_paired;             // b' [width[1]]
};

// Scratch memory for blocks of up to `rows` rows.
template <typename T> struct KernelWork {
  int rows = 0;
  std::vector<std::vector<T>> slope;   // [n_hidden] act'(z), [rows][width[k+1]]
  std::vector<T> h[2];                 // activations, [rows][max width]
  std::vector<T> g[2];                 // gradients,   [rows][max width]
  void reserve(const KernelNet<T> &net, int nrows)
  {
    if (nrows <= rows && slope.size() == (std::size_t) net.n_hidden) return;
    rows = nrows;
    int widest = 0;
    for (int v : net.width) widest = v > widest ? v : widest;
    slope.resize(net.n_hidden);
    for (int k = 0; k < net.n_hidden; k++) slope[k].assign((std::size_t) rows * net.width[k + 1], T(0));
    for (int i = 0; i < 2; i++) {
      h[i].assign((std::size_t) rows * widest, T(0));
      g[i].assign((std::size_t) rows * widest, T(0));
    }
  }
  double bytes() const
  {
    double n = 0;
    for (const auto &s : slope) n += s.capacity();
    for (int i = 0; i < 2; i++) n += h[i].capacity() + g[i].capacity();
    return n * sizeof(T);
  }
};

// For rows x [rows][width[0]]: out[r] = MLP(x_r), gx[r] = d out / d x_r
// (gx rows n_in_padded apart).
// Paired: `pairs` rows x_a [pairs][n_a], x_b [pairs][n_b]; out[r] (frame f) and
// out[pairs + r] (frame f'); ga = (g_1(f) + g_1(f')) A, gb = (g_1(f) - g_1(f')) B with
// g_1 = d out / d z_1 (rows n_a_padded and n_b_padded apart).
template <typename T> struct Kernels {
  void (*mlp)(const KernelNet<T> &net, int rows, const T *x, KernelWork<T> &work, T *out, T *gx);
  void (*mlp_paired)(const KernelNet<T> &net, int pairs, const T *xa, const T *xb,
                     KernelWork<T> &work, T *out, T *ga, T *gb);
};

// One set per instruction set the kernels were compiled for.
struct KernelSet {
  const char *name;
  Kernels<double> f64;
  Kernels<float> f32;
};

KernelSet kernels_generic();
#if defined(AREANET_HAVE_AVX2_KERNELS)
KernelSet kernels_avx2();
#endif

}    // namespace areanet

#endif
