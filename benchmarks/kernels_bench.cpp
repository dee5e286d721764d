/* ----------------------------------------------------------------------
   The native evaluator's MLP kernels alone (lammps_plugin/areanet_kernels.*):
   CPU time of one block of paired frames through the 36-32-64-32-1 SiLU MLP
   of the shipped models, forward and backward, in float64 and float32, for
   each kernel set this machine runs.  Random weights of the shipped shapes;
   prints CPU µs per element (12 frames) and the GFLOP/s it makes.

     g++ -O2 -std=c++17 -ffp-contract=fast -Ilammps_plugin -c lammps_plugin/areanet_kernels.cpp -o /tmp/k0.o
     g++ -O2 -std=c++17 -ffp-contract=fast -mavx2 -mfma -Ilammps_plugin -DAREANET_KERNEL_ENTRY=kernels_avx2 \
         '-DAREANET_KERNEL_NAME="AVX2+FMA"' -c lammps_plugin/areanet_kernels.cpp -o /tmp/k1.o
     g++ -O2 -std=c++17 -Ilammps_plugin -DAREANET_HAVE_AVX2_KERNELS benchmarks/kernels_bench.cpp /tmp/k0.o /tmp/k1.o -o /tmp/kernels_bench
     /tmp/kernels_bench [elements per block, default 16] [repeats, default 2000]

   FLOPs counted: 2 per multiply-add of every product (the paired first
   layer once per pair of frames), nothing for the activations.
------------------------------------------------------------------------- */

#include "areanet_kernels.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>

using namespace areanet;

namespace {

double cpu_seconds()
{
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

template <typename T> KernelNet<T> random_net(std::mt19937 &rng)
{
  std::normal_distribution<double> normal(0.0, 0.2);
  KernelNet<T> net;
  net.n_hidden = 3;
  net.width = {36, 32, 64, 32};
  const int lanes = kernel_lanes<T>();
  auto pad = [lanes](int n) { return (n + lanes - 1) / lanes * lanes; };
  net.wt.resize(3);
  net.w.resize(3);
  net.b.resize(3);
  for (int k = 0; k < 3; k++) {
    const int ni = net.width[k], no = net.width[k + 1];
    const int ld = k == 0 ? pad(ni) : ni;
    net.wt[k].assign((size_t) ni * no, T(0));
    net.w[k].assign((size_t) no * ld, T(0));
    for (int o = 0; o < no; o++)
      for (int i = 0; i < ni; i++) {
        const T w = (T) normal(rng);
        net.wt[k][(size_t) i * no + o] = w;
        net.w[k][(size_t) o * ld + i] = w;
      }
    for (int o = 0; o < no; o++) net.b[k].push_back((T) normal(rng));
  }
  net.n_in_padded = pad(36);
  net.paired = true;
  net.n_a = 24;
  net.n_b = 12;
  net.n_a_padded = pad(24);
  net.n_b_padded = pad(12);
  net.wt_a.assign(24 * 32, T(0));
  net.wt_b.assign(12 * 32, T(0));
  net.w_a.assign((size_t) 32 * net.n_a_padded, T(0));
  net.w_b.assign((size_t) 32 * net.n_b_padded, T(0));
  for (int o = 0; o < 32; o++)
    for (int u = 0; u < 12; u++) {
      for (int d = 0; d < 2; d++) {
        net.wt_a[(size_t) (2 * u + d) * 32 + o] = net.wt[0][(size_t) (3 * u + d) * 32 + o];
        net.w_a[(size_t) o * net.n_a_padded + 2 * u + d] = net.wt[0][(size_t) (3 * u + d) * 32 + o];
      }
      net.wt_b[(size_t) u * 32 + o] = net.wt[0][(size_t) (3 * u + 2) * 32 + o];
      net.w_b[(size_t) o * net.n_b_padded + u] = net.wt[0][(size_t) (3 * u + 2) * 32 + o];
    }
  net.b_paired = net.b[0];
  net.w_out.resize(32);
  for (auto &w : net.w_out) w = (T) normal(rng);
  net.b_out = T(0.1);
  net.activation = 0;    // SiLU
  return net;
}

template <typename T>
void bench(const char *set, const char *precision, const Kernels<T> &k, int elements, int repeats)
{
  std::mt19937 rng(7);
  const KernelNet<T> net = random_net<T>(rng);
  const int pairs = elements * 6;
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<T> xa((size_t) pairs * 24), xb((size_t) pairs * 12);
  for (auto &x : xa) x = (T) normal(rng);
  for (auto &x : xb) x = (T) normal(rng);
  std::vector<T> out(2 * pairs), ga((size_t) pairs * net.n_a_padded), gb((size_t) pairs * net.n_b_padded);
  KernelWork<T> work;
  work.reserve(net, 2 * pairs);
  double best = 1e30;
  for (int trial = 0; trial < 5; trial++) {
    const double t0 = cpu_seconds();
    for (int r = 0; r < repeats; r++) k.mlp_paired(net, pairs, xa.data(), xb.data(), work, out.data(), ga.data(), gb.data());
    best = std::min(best, (cpu_seconds() - t0) / repeats);
  }
  // per pair of frames: the first layer once (36 x 32), the rest twice, forward and backward
  const double macs_per_pair = 2.0 * 36 * 32 + 2.0 * 2 * (32 * 64 + 64 * 32) + 2.0 * 32;
  const double flops = 2.0 * macs_per_pair * pairs;
  std::printf("%-9s %-8s %3d elements/block: %7.3f CPU us/element  %6.1f GFLOP/s  (check %.6g)\n", set,
              precision, elements, 1e6 * best / elements, flops / best * 1e-9, (double) out[0]);
}

}    // namespace

int main(int argc, char **argv)
{
  const int elements = argc > 1 ? std::atoi(argv[1]) : 16;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 2000;
  std::vector<KernelSet> sets = {kernels_generic()};
#if defined(AREANET_HAVE_AVX2_KERNELS)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) sets.push_back(kernels_avx2());
#endif
  for (const auto &s : sets) {
    bench<double>(s.name, "float64", s.f64, elements, repeats);
    bench<float>(s.name, "float32", s.f32, elements, repeats);
  }
  return 0;
}
