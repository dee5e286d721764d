/* ----------------------------------------------------------------------
   areanet: native C++ evaluation of an AreaNet model (see areanet_native.h).

   Each step follows potential/element.py and potential/model.py:

   1. edges grouped by centre;
   2. shell finder: per centre the 3+3 nearest other-species and the 6
      nearest same-species neighbours (rank within species), then the ring
      topology (parent and side of each second-shell atom, ring of each
      third-shell atom) gives the 12 canonical slots; the same checks, in
      the same order, with the same messages as find_element_slots();
   3. per species, blocks of elements: frame coordinates -> standardised
      features (rows = element x frame), the MLP forward and its input
      gradient (areanet_kernels.cpp), the frame average, then the gradient
      through the frame geometry written out by hand:
        coordinates  x_kv = v.x_k,  y_kv = v.y_k,  z_v = v.n
        axes         x_k = u_k/|u_k|, u_k = f_k - (f_k.n) n,  y_k = n x x_k
        normal       n = w/|w|,  w = f0 x f1 + f1 x f2 + f2 x f0
      so dE/dv_v = sum_k (Gx_kv x_k + Gy_kv y_k) + Gz_v n plus the terms of
      the first-shell vertices through x_k, y_k and n.
------------------------------------------------------------------------- */

#include "areanet_native.h"

#include "areanet_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <type_traits>

using namespace areanet;

namespace {

inline double dot3(const double *a, const double *b)
{
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

inline void cross3(const double *a, const double *b, double *c)
{
  c[0] = a[1] * b[2] - a[2] * b[1];
  c[1] = a[2] * b[0] - a[0] * b[2];
  c[2] = a[0] * b[1] - a[1] * b[0];
}

inline double norm3(const double *a)
{
  return std::sqrt(dot3(a, a));
}

// Python's str() of a float: the shortest text that reads back the same number.
std::string float_text(double x)
{
  char buf[40];
  for (int prec = 1; prec <= 17; prec++) {
    std::snprintf(buf, sizeof(buf), "%.*g", prec, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string counts_text(const int *counts, int n)
{
  std::string s = "[";
  for (int k = 0; k < n; k++) s += (k ? ", " : "") + std::to_string(counts[k]);
  return s + "]";
}

// The frame geometry of one element.
struct Geometry {
  double v[12][3];     // canonical slots, r_vertex - r_centre
  double n[3];         // unit normal
  double wnorm;        // |w|
  double x[3][3];      // x_k
  double y[3][3];      // y_k
  double unorm[3];     // |u_k|
  double px[3][12];    // v.x_k
  double py[3][12];    // v.y_k
  double pz[12];       // v.n
};

// The unit normal of the first-shell triangle (element.py: element_normal).
void element_normal(const double f[3][3], double *n, double *wnorm)
{
  double c0[3], c1[3], c2[3];
  cross3(f[0], f[1], c0);
  cross3(f[1], f[2], c1);
  cross3(f[2], f[0], c2);
  double w[3] = {c0[0] + c1[0] + c2[0], c0[1] + c1[1] + c2[1], c0[2] + c1[2] + c2[2]};
  const double len = norm3(w);
  for (int c = 0; c < 3; c++) n[c] = w[c] / len;
  if (wnorm) *wnorm = len;
}

void frame_geometry(Geometry &g)
{
  const double(*f)[3] = g.v;
  element_normal(f, g.n, &g.wnorm);
  for (int k = 0; k < 3; k++) {
    const double fn = dot3(f[k], g.n);
    double u[3] = {f[k][0] - fn * g.n[0], f[k][1] - fn * g.n[1], f[k][2] - fn * g.n[2]};
    g.unorm[k] = norm3(u);
    for (int c = 0; c < 3; c++) g.x[k][c] = u[c] / g.unorm[k];
    cross3(g.n, g.x[k], g.y[k]);
  }
  for (int v = 0; v < 12; v++) {
    for (int k = 0; k < 3; k++) {
      g.px[k][v] = dot3(g.v[v], g.x[k]);
      g.py[k][v] = dot3(g.v[v], g.y[k]);
    }
    g.pz[v] = dot3(g.v[v], g.n);
  }
}

}    // namespace

/* ---------------------------------------------------------------------- */

std::string NativeSpec::check() const
{
  const int S = static_cast<int>(species.size());
  const int F = n_frames();
  const int nf = n_features();
  if (S < 1) return "no species";
  if (dims != 2 && dims != 3) return "dims must be 2 or 3";
  if (F < 1 || (int) frame_sy.size() != F || (int) frame_sz.size() != F ||
      (int) frame_order.size() != 12 * F)
    return "inconsistent frame tables";
  for (int f = 0; f < F; f++) {
    if (frame_ref[f] < 0 || frame_ref[f] > 2) return "frame reference out of range";
    for (int p = 0; p < 12; p++)
      if (frame_order[12 * f + p] < 0 || frame_order[12 * f + p] > 11)
        return "frame order out of range";
  }
  if (low_order && low_order_matrix.size() != 72) return "low-order matrix is not 6 x 12";
  if ((int) is_centre.size() != S || (int) ref_energy.size() != S ||
      (int) feature_mean.size() != S * nf || (int) feature_std.size() != S * nf)
    return "per-species tables do not match the species";
  if (has_domain()) {
    const int nd = n_domain();
    if ((int) domain_min.size() != S * nd || (int) domain_max.size() != S * nd)
      return "the training domain's ranges do not match the species and features";
    for (int j = 0; j < S * nd; j++)
      if (!(domain_min[j] <= domain_max[j])) return "a training domain range has min > max";
  }
  if ((int) mlps.size() != S) return "one MLP per species expected";
  for (int s = 0; s < S; s++) {
    const auto &layers = mlps[s];
    if (layers.size() < 2) return "an MLP needs at least one hidden layer";
    if (layers.front().n_in != nf) return "the first layer does not take the features";
    for (size_t k = 0; k < layers.size(); k++) {
      const auto &l = layers[k];
      if (l.n_in < 1 || l.n_out < 1 || (int) l.weight.size() != l.n_in * l.n_out ||
          (int) l.bias.size() != l.n_out)
        return "a layer's weights do not match its shape";
      if (k > 0 && l.n_in != layers[k - 1].n_out) return "consecutive layers do not fit";
    }
  }
  return "";
}

/* ---------------------------------------------------------------------- */

struct NativeModel::Impl {
  NativeSpec spec;
  Precision precision;
  KernelSet kernels;
  int S, F, nv, dims, nf;
  int block = 16;    // elements per block
  bool paired = false; // frames f and f + F/2 differ only in the sign of z (dims = 3)
  int FP = 0;          // frames evaluated per element: F, or F/2 pairs

  std::vector<KernelNet<double>> net64;
  std::vector<KernelNet<float>> net32;
  KernelWork<double> work64;
  KernelWork<float> work32;
  std::vector<double> grad_coef;    // [S][nf] (energy_scale / F) / std

  // per call
  std::vector<int64_t> offset;    // [n+1] first edge of each centre (grouped order)
  std::vector<int64_t> grouped;   // edges grouped by centre (empty: already grouped)
  std::vector<int64_t> slots;     // [n][12] edge of each canonical slot
  std::vector<int64_t> members;   // centres of one species
  std::vector<Geometry> geometry; // [block]
  std::vector<double> xin64, out64, gx64;
  std::vector<float> xin32, out32, gx32;
  std::vector<double> coords;     // [12*dims] one frame's coordinates
  std::vector<double> gfeat;      // [F][nf] one element's feature gradient
  bool domain_check = false;      // the domain guard is on
  std::vector<double> excess;     // [n] excess of each centre beyond the training domain
  std::vector<int> excess_feature; // [n] the feature that gives it (-1 inside)

  template <typename T> void setup_nets(std::vector<KernelNet<T>> &nets);
  template <typename T>
  void run_block(int s, int nb, const int64_t *centres, const double *edge_vec, double *atom_energy,
                 double *de_dedge, std::vector<T> &xin, std::vector<T> &out, std::vector<T> &gx,
                 const KernelNet<T> &net, KernelWork<T> &work, const Kernels<T> &k);
  void frame_features(const Geometry &g, int f, double *feat);
  void domain_excess(int s, int64_t centre, const double *feat);
  void shell_excess(int s, int64_t centre, const Geometry &g);
  void backward(const Geometry &g, const double *gfeat, int nframes, double gv[12][3]);
};

template <typename T> void NativeModel::Impl::setup_nets(std::vector<KernelNet<T>> &nets)
{
  nets.assign(S, KernelNet<T>());
  for (int s = 0; s < S; s++) {
    const auto &layers = spec.mlps[s];
    auto &net = nets[s];
    net.n_hidden = static_cast<int>(layers.size()) - 1;
    net.width.clear();
    net.width.push_back(layers[0].n_in);
    net.wt.assign(net.n_hidden, {});
    net.w.assign(net.n_hidden, {});
    net.b.assign(net.n_hidden, {});
    for (int k = 0; k < net.n_hidden; k++) {
      const auto &l = layers[k];
      net.width.push_back(l.n_out);
      if (k == 0) {    // rows padded to whole SIMD vectors for the last product of the backward pass
        const int lanes = kernel_lanes<T>();
        net.n_in_padded = (l.n_in + lanes - 1) / lanes * lanes;
        net.w[0].assign((size_t) l.n_out * net.n_in_padded, T(0));
        for (int o = 0; o < l.n_out; o++)
          for (int i = 0; i < l.n_in; i++) net.w[0][(size_t) o * net.n_in_padded + i] = (T) l.weight[(size_t) o * l.n_in + i];
      } else {
        net.w[k].assign(l.weight.begin(), l.weight.end());
      }
      net.wt[k].resize(l.weight.size());
      for (int o = 0; o < l.n_out; o++)
        for (int i = 0; i < l.n_in; i++) net.wt[k][(size_t) i * l.n_out + o] = (T) l.weight[(size_t) o * l.n_in + i];
      net.b[k].assign(l.bias.begin(), l.bias.end());
    }
    if (paired) {    // split the first layer into in-plane (a) and out-of-plane (b) columns
      const auto &l = layers[0];
      const int lanes = kernel_lanes<T>();
      const int nvert = l.n_in / 3, w1 = l.n_out;
      net.paired = true;
      net.n_a = 2 * nvert;
      net.n_b = nvert;
      net.n_a_padded = (net.n_a + lanes - 1) / lanes * lanes;
      net.n_b_padded = (net.n_b + lanes - 1) / lanes * lanes;
      net.wt_a.assign((size_t) net.n_a * w1, T(0));
      net.wt_b.assign((size_t) net.n_b * w1, T(0));
      net.w_a.assign((size_t) w1 * net.n_a_padded, T(0));
      net.w_b.assign((size_t) w1 * net.n_b_padded, T(0));
      net.b_paired.assign(w1, T(0));
      const double *mean = &spec.feature_mean[(size_t) s * nf];
      const double *sd = &spec.feature_std[(size_t) s * nf];
      for (int o = 0; o < w1; o++) {
        // the z inputs enter as z/std (their mean goes into the bias), so that negating z
        // negates the input:  (±z - mean)/std = ±z/std - mean/std
        double bias = l.bias[o];
        for (int u = 0; u < nvert; u++) {
          const double *wrow = &l.weight[(size_t) o * l.n_in + 3 * u];
          for (int d = 0; d < 2; d++) {
            net.wt_a[(size_t) (2 * u + d) * w1 + o] = (T) wrow[d];
            net.w_a[(size_t) o * net.n_a_padded + 2 * u + d] = (T) wrow[d];
          }
          net.wt_b[(size_t) u * w1 + o] = (T) wrow[2];
          net.w_b[(size_t) o * net.n_b_padded + u] = (T) wrow[2];
          bias -= wrow[2] * (mean[3 * u + 2] / sd[3 * u + 2]);
        }
        net.b_paired[o] = (T) bias;
      }
    }
    const auto &last = layers.back();
    net.w_out.assign(last.weight.begin(), last.weight.begin() + last.n_in);    // first output
    net.b_out = (T) last.bias[0];
    net.activation = spec.activation;
    net.negative_slope = (T) spec.negative_slope;
  }
}

NativeModel::NativeModel(const NativeSpec &spec, Precision precision) : impl_(new Impl)
{
  auto &m = *impl_;
  m.spec = spec;
  m.precision = precision;
  m.S = static_cast<int>(spec.species.size());
  m.F = spec.n_frames();
  m.nv = spec.n_vertices();
  m.dims = spec.dims;
  m.nf = spec.n_features();
  m.kernels = kernels_generic();
#if defined(AREANET_HAVE_AVX2_KERNELS)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      std::getenv("AREANET_GENERIC_KERNELS") == nullptr)
    m.kernels = kernels_avx2();
#endif
  // frames f and f + F/2: same reference, sense of rotation and order, opposite z
  m.paired = m.dims == 3 && m.F % 2 == 0 && std::getenv("AREANET_NATIVE_UNPAIRED") == nullptr;
  for (int f = 0; m.paired && f < m.F / 2; f++) {
    const int f2 = f + m.F / 2;
    m.paired = spec.frame_ref[f] == spec.frame_ref[f2] && spec.frame_sy[f] == spec.frame_sy[f2] &&
        spec.frame_sz[f] == -spec.frame_sz[f2] &&
        std::equal(&spec.frame_order[12 * f], &spec.frame_order[12 * f] + 12, &spec.frame_order[12 * f2]);
  }
  m.FP = m.paired ? m.F / 2 : m.F;
  if (precision == FLOAT64)
    m.setup_nets(m.net64);
  else
    m.setup_nets(m.net32);
  m.grad_coef.resize((size_t) m.S * m.nf);
  for (int s = 0; s < m.S; s++)
    for (int j = 0; j < m.nf; j++)
      m.grad_coef[(size_t) s * m.nf + j] = (spec.energy_scale / m.F) / spec.feature_std[(size_t) s * m.nf + j];
  set_block(16);
}

NativeModel::~NativeModel() = default;

void NativeModel::set_block(int elements)
{
  auto &m = *impl_;
  m.block = std::max(1, elements);
  const int rows = m.block * m.F;
  m.geometry.resize(m.block);
  m.coords.resize(12 * 3);
  m.gfeat.resize((size_t) m.F * m.nf);
  if (m.precision == FLOAT64) {
    for (auto &net : m.net64) m.work64.reserve(net, rows);
    m.xin64.resize((size_t) rows * m.nf);
    m.gx64.resize((size_t) rows * m.net64[0].n_in_padded);
    m.out64.resize(rows);
  } else {
    for (auto &net : m.net32) m.work32.reserve(net, rows);
    m.xin32.resize((size_t) rows * m.nf);
    m.gx32.resize((size_t) rows * m.net32[0].n_in_padded);
    m.out32.resize(rows);
  }
  m.xin64.resize((size_t) rows * m.nf);    // features are built in double first
}

bool NativeModel::has_domain() const
{
  return impl_->spec.has_domain();
}

void NativeModel::set_domain_check(bool on)
{
  impl_->domain_check = on && impl_->spec.has_domain();
}

const double *NativeModel::domain_excess() const
{
  return impl_->excess.data();
}

const int *NativeModel::domain_feature() const
{
  return impl_->excess_feature.data();
}

std::string NativeModel::feature_name(int j) const
{
  const auto &m = *impl_;
  static const char *shells[] = {"first", "second", "third"};
  if (j >= m.nf && j < m.nf + 3)
    return std::string("the mean distance of the ") + shells[j - m.nf] + " shell";
  if (j < 0 || j >= m.nf) return "none";
  static const char *high[] = {"A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"};
  static const char *low[] = {"A", "E", "I", "X", "Y", "Z"};
  const int vertex = j / m.dims, coordinate = j % m.dims;
  return std::string("coordinate ") + "xyz"[coordinate] + " of vertex " +
      (m.spec.low_order ? low[vertex] : high[vertex]) + " in a local frame";
}

std::string NativeModel::describe() const
{
  const auto &m = *impl_;
  return std::string("native C++, MLP in ") + (m.precision == FLOAT64 ? "float64" : "float32") +
      ", " + m.kernels.name + " kernels, " + std::to_string(m.F) + " frames" +
      (m.paired ? " in +-z pairs" : "") + ", blocks of " + std::to_string(m.block) + " elements";
}

double NativeModel::memory_usage() const
{
  const auto &m = *impl_;
  double bytes = m.work64.bytes() + m.work32.bytes();
  bytes += sizeof(int64_t) * (m.offset.capacity() + m.grouped.capacity() + m.slots.capacity() + m.members.capacity());
  bytes += sizeof(Geometry) * m.geometry.capacity();
  bytes += sizeof(double) * (m.xin64.capacity() + m.out64.capacity() + m.gx64.capacity() + m.gfeat.capacity());
  bytes += sizeof(float) * (m.xin32.capacity() + m.out32.capacity() + m.gx32.capacity());
  return bytes;
}

/* ----------------------------------------------------------------------
   features of frame f of one element (model.py: features), standardised
------------------------------------------------------------------------- */

void NativeModel::Impl::frame_features(const Geometry &g, int f, double *feat)
{
  const int k = spec.frame_ref[f];
  const double sy = spec.frame_sy[f], sz = spec.frame_sz[f];
  const int *order = &spec.frame_order[12 * f];
  double *c = spec.low_order ? coords.data() : feat;    // [12][dims]
  for (int p = 0; p < 12; p++) {
    const int v = order[p];
    c[p * dims + 0] = g.px[k][v];
    c[p * dims + 1] = g.py[k][v] * sy;
    if (dims == 3) c[p * dims + 2] = g.pz[v] * sz;
  }
  if (spec.low_order) {
    const double *L = spec.low_order_matrix.data();
    for (int u = 0; u < 6; u++)
      for (int d = 0; d < dims; d++) {
        double acc = 0.0;
        for (int p = 0; p < 12; p++) acc += L[u * 12 + p] * c[p * dims + d];
        feat[u * dims + d] = acc;
      }
  }
}

/* ----------------------------------------------------------------------
   the domain guard (areanet_native.h): how far a centre of species s
   leaves the training ranges, descriptor j at a time -- the features of
   one frame (in +-z pairs the partner frame has the same features with z
   negated, so -z is checked as well), or the shells' mean distances
------------------------------------------------------------------------- */

void NativeModel::Impl::domain_excess(int s, int64_t centre, const double *feat)
{
  const int nd = nf + 3;
  const double *lo = &spec.domain_min[(size_t) s * nd];
  const double *hi = &spec.domain_max[(size_t) s * nd];
  double worst = excess[centre];
  int which = excess_feature[centre];
  for (int j = 0; j < nf; j++) {
    double over = std::max(lo[j] - feat[j], feat[j] - hi[j]);
    if (paired && j % 3 == 2) over = std::max(over, std::max(lo[j] + feat[j], -feat[j] - hi[j]));
    if (over > worst) {
      worst = over;
      which = j;
    }
  }
  excess[centre] = worst;
  excess_feature[centre] = which;
}

void NativeModel::Impl::shell_excess(int s, int64_t centre, const Geometry &g)
{
  static const int first[4] = {0, 3, 9, 12};    // canonical slots of the three shells
  const int nd = nf + 3;
  for (int shell = 0; shell < 3; shell++) {
    double mean = 0.0;
    for (int v = first[shell]; v < first[shell + 1]; v++) mean += norm3(g.v[v]);
    mean /= first[shell + 1] - first[shell];
    const int j = nf + shell;
    const double over = std::max(spec.domain_min[(size_t) s * nd + j] - mean,
                                 mean - spec.domain_max[(size_t) s * nd + j]);
    if (over > excess[centre]) {
      excess[centre] = over;
      excess_feature[centre] = j;
    }
  }
}

/* ----------------------------------------------------------------------
   dE/dv from dE/dfeatures of all frames (gfeat [F][nf], already scaled)
------------------------------------------------------------------------- */

void NativeModel::Impl::backward(const Geometry &g, const double *gfeat, int nframes, double gv[12][3])
{
  double Gx[3][12] = {}, Gy[3][12] = {}, Gz[12] = {};
  double gc[12 * 3];
  const double *L = spec.low_order_matrix.data();
  for (int f = 0; f < nframes; f++) {
    const double *gf = gfeat + (size_t) f * nf;
    const double *gcoord = gf;
    if (spec.low_order) {    // through the low-order matrix: d/dc_pd = sum_u L_up g_ud
      for (int p = 0; p < 12; p++)
        for (int d = 0; d < dims; d++) {
          double acc = 0.0;
          for (int u = 0; u < 6; u++) acc += L[u * 12 + p] * gf[u * dims + d];
          gc[p * dims + d] = acc;
        }
      gcoord = gc;
    }
    const int k = spec.frame_ref[f];
    const double sy = spec.frame_sy[f], sz = spec.frame_sz[f];
    const int *order = &spec.frame_order[12 * f];
    for (int p = 0; p < 12; p++) {
      const int v = order[p];
      Gx[k][v] += gcoord[p * dims + 0];
      Gy[k][v] += sy * gcoord[p * dims + 1];
      if (dims == 3) Gz[v] += sz * gcoord[p * dims + 2];
    }
  }

  // direct terms, and the gradients with respect to the axes
  double ax[3][3] = {}, ay[3][3] = {}, an[3] = {};
  for (int v = 0; v < 12; v++) {
    for (int c = 0; c < 3; c++) {
      double acc = Gz[v] * g.n[c];
      for (int k = 0; k < 3; k++) acc += Gx[k][v] * g.x[k][c] + Gy[k][v] * g.y[k][c];
      gv[v][c] = acc;
    }
    for (int k = 0; k < 3; k++)
      for (int c = 0; c < 3; c++) {
        ax[k][c] += Gx[k][v] * g.v[v][c];
        ay[k][c] += Gy[k][v] * g.v[v][c];
      }
    for (int c = 0; c < 3; c++) an[c] += Gz[v] * g.v[v][c];
  }

  for (int k = 0; k < 3; k++) {
    // y_k = n x x_k:  d/dn += x_k x a_y,  d/dx_k += a_y x n
    double t[3];
    cross3(g.x[k], ay[k], t);
    for (int c = 0; c < 3; c++) an[c] += t[c];
    cross3(ay[k], g.n, t);
    for (int c = 0; c < 3; c++) ax[k][c] += t[c];
    // x_k = u_k / |u_k|
    const double axx = dot3(ax[k], g.x[k]);
    double au[3];
    for (int c = 0; c < 3; c++) au[c] = (ax[k][c] - axx * g.x[k][c]) / g.unorm[k];
    // u_k = f_k - (f_k.n) n
    const double aun = dot3(au, g.n);
    const double fn = dot3(g.v[k], g.n);
    for (int c = 0; c < 3; c++) {
      gv[k][c] += au[c] - aun * g.n[c];
      an[c] -= fn * au[c] + aun * g.v[k][c];
    }
  }

  // n = w / |w|, w = f0 x f1 + f1 x f2 + f2 x f0
  const double ann = dot3(an, g.n);
  double aw[3];
  for (int c = 0; c < 3; c++) aw[c] = (an[c] - ann * g.n[c]) / g.wnorm;
  for (int k = 0; k < 3; k++) {
    const double *fa = g.v[(k + 1) % 3], *fb = g.v[(k + 2) % 3];
    double d[3] = {fa[0] - fb[0], fa[1] - fb[1], fa[2] - fb[2]}, t[3];
    cross3(d, aw, t);
    for (int c = 0; c < 3; c++) gv[k][c] += t[c];
  }
}

/* ---------------------------------------------------------------------- */

template <typename T>
void NativeModel::Impl::run_block(int s, int nb, const int64_t *centres, const double *edge_vec,
                                  double *atom_energy, double *de_dedge, std::vector<T> &xin,
                                  std::vector<T> &out, std::vector<T> &gx, const KernelNet<T> &net,
                                  KernelWork<T> &work, const Kernels<T> &k)
{
  const double *mean = &spec.feature_mean[(size_t) s * nf];
  const double *sd = &spec.feature_std[(size_t) s * nf];
  const int nrows = nb * FP;    // rows of inputs: (element, frame or pair of frames)
  const int nvert = nf / dims;
  double *x64 = xin64.data();
  double *xb64 = x64 + (size_t) nrows * 2 * nvert;    // paired: in-plane part, then z part
  double feat[36];
  for (int b = 0; b < nb; b++) {
    Geometry &g = geometry[b];
    const int64_t *slot = &slots[(size_t) centres[b] * 12];
    for (int v = 0; v < 12; v++)
      for (int c = 0; c < 3; c++) g.v[v][c] = edge_vec[3 * slot[v] + c];
    frame_geometry(g);
    if (domain_check) shell_excess(s, centres[b], g);
    for (int f = 0; f < FP; f++) {
      frame_features(g, f, feat);
      if (domain_check) domain_excess(s, centres[b], feat);
      const int row = b * FP + f;
      if (!paired) {
        double *x = x64 + (size_t) row * nf;
        for (int j = 0; j < nf; j++) x[j] = (feat[j] - mean[j]) / sd[j];
      } else {
        double *xa = x64 + (size_t) row * 2 * nvert;
        double *xb = xb64 + (size_t) row * nvert;
        for (int u = 0; u < nvert; u++) {
          xa[2 * u] = (feat[3 * u] - mean[3 * u]) / sd[3 * u];
          xa[2 * u + 1] = (feat[3 * u + 1] - mean[3 * u + 1]) / sd[3 * u + 1];
          xb[u] = feat[3 * u + 2] / sd[3 * u + 2];
        }
      }
    }
  }
  const T *x;
  if (std::is_same<T, double>::value) {    // the features are the MLP's input
    x = reinterpret_cast<const T *>(x64);
  } else {
    for (size_t j = 0; j < (size_t) nrows * nf; j++) xin[j] = (T) x64[j];
    x = xin.data();
  }
  T *ga = gx.data();
  T *gb = ga + (size_t) nrows * net.n_a_padded;
  if (!paired)
    k.mlp(net, nrows, x, work, out.data(), gx.data());
  else
    k.mlp_paired(net, nrows, x, x + (size_t) nrows * 2 * nvert, work, out.data(), ga, gb);

  const double *coef = &grad_coef[(size_t) s * nf];
  double *gfeat = this->gfeat.data();
  for (int b = 0; b < nb; b++) {
    double sum = 0.0;
    for (int f = 0; f < FP; f++) sum += (double) out[b * FP + f];
    if (paired)
      for (int f = 0; f < FP; f++) sum += (double) out[nrows + b * FP + f];
    atom_energy[centres[b]] = spec.ref_energy[s] + spec.energy_scale * (sum / F);
    for (int f = 0; f < FP; f++) {
      const int row = b * FP + f;
      double *gd = gfeat + (size_t) f * nf;
      if (!paired) {
        const T *gr = gx.data() + (size_t) row * net.n_in_padded;
        for (int j = 0; j < nf; j++) gd[j] = (double) gr[j] * coef[j];
      } else {    // d/d(in-plane) summed over the pair, d/dz of frame f minus that of f'
        const T *gra = ga + (size_t) row * net.n_a_padded;
        const T *grb = gb + (size_t) row * net.n_b_padded;
        for (int u = 0; u < nvert; u++) {
          gd[3 * u] = (double) gra[2 * u] * coef[3 * u];
          gd[3 * u + 1] = (double) gra[2 * u + 1] * coef[3 * u + 1];
          gd[3 * u + 2] = (double) grb[u] * coef[3 * u + 2];
        }
      }
    }
    double gv[12][3];
    backward(geometry[b], gfeat, FP, gv);
    const int64_t *slot = &slots[(size_t) centres[b] * 12];
    for (int v = 0; v < 12; v++)
      for (int c = 0; c < 3; c++) de_dedge[3 * slot[v] + c] += gv[v][c];
  }
}

/* ---------------------------------------------------------------------- */

bool NativeModel::compute(int64_t n, int64_t nedges, const double *edge_vec, const int64_t *edge_src,
                          const int64_t *edge_spec, const int64_t *spec_, double *atom_energy,
                          double *de_dedge, std::string &error)
{
  auto &m = *impl_;
  const auto &spec = m.spec;

  for (int64_t e = 0; e < nedges; e++)
    if (edge_src[e] < 0 || edge_src[e] >= n) {
      error = "areanet: edge_src out of range";
      return false;
    }
  for (int64_t i = 0; i < n; i++)
    if (spec_[i] < 0 || spec_[i] >= m.S) {
      error = "areanet: species index out of range";
      return false;
    }

  // 1. edges grouped by centre

  m.offset.assign(n + 1, 0);
  bool sorted = true;
  for (int64_t e = 0; e < nedges; e++) {
    m.offset[edge_src[e] + 1]++;
    if (e > 0 && edge_src[e] < edge_src[e - 1]) sorted = false;
  }
  for (int64_t i = 0; i < n; i++) m.offset[i + 1] += m.offset[i];
  const int64_t *group = nullptr;
  if (!sorted) {
    m.grouped.resize(nedges);
    std::vector<int64_t> fill(m.offset.begin(), m.offset.end() - 1);
    for (int64_t e = 0; e < nedges; e++) m.grouped[fill[edge_src[e]]++] = e;
    group = m.grouped.data();
  }

  // 2a. rank within species: 6 nearest of the other species, 6 of the centre's

  m.slots.assign((size_t) n * 12, 0);
  int64_t bad = -1, bad_other = 0, bad_same = 0;
  for (int64_t i = 0; i < n; i++) {
    if (!spec.is_centre[spec_[i]]) continue;
    int64_t best[2][6];
    double bestd[2][6];
    int count[2] = {0, 0};
    for (int64_t q = m.offset[i]; q < m.offset[i + 1]; q++) {
      const int64_t e = group ? group[q] : q;
      const double *r = edge_vec + 3 * e;
      const double d2 = dot3(r, r);
      const int same = edge_spec[e] == spec_[i] ? 1 : 0;
      int c = count[same]++;
      if (c >= 6) {
        if (d2 >= bestd[same][5]) continue;
        c = 5;
      }
      while (c > 0 && bestd[same][c - 1] > d2) {
        bestd[same][c] = bestd[same][c - 1];
        best[same][c] = best[same][c - 1];
        c--;
      }
      bestd[same][c] = d2;
      best[same][c] = e;
    }
    if (count[0] < 6 || count[1] < 6) {
      if (bad < 0) {
        bad = i;
        bad_other = count[0];
        bad_same = count[1];
      }
      continue;
    }
    int64_t *slot = &m.slots[(size_t) i * 12];
    for (int k = 0; k < 3; k++) {
      slot[k] = best[0][k];            // first shell
      slot[9 + k] = best[0][3 + k];    // third shell (ring assigned below)
    }
    for (int k = 0; k < 6; k++) slot[3 + k] = best[1][k];    // second shell (sides below)
  }
  if (bad >= 0) {
    error = "areanet: no complete area element at centre index " + std::to_string(bad) + " (" +
        spec.species[spec_[bad]] + "): found " + std::to_string(bad_other) + " other-species and " +
        std::to_string(bad_same) + " same-species neighbours within the " + float_text(spec.cutoff) +
        " A cutoff; an element needs 6 of the other species (3 first + 3 third shell) and 6 of its "
        "own (second shell). Vacancy, edge, isolated atom, wrong species map or too much distortion?";
    return false;
  }

  // 2b. ring topology: children by parent and side, third-shell atoms by ring

  int64_t bad_second = -1, bad_third = -1;
  int bad_second_counts[6] = {}, bad_third_counts[3] = {};
  for (int64_t i = 0; i < n; i++) {
    if (!spec.is_centre[spec_[i]]) continue;
    int64_t *slot = &m.slots[(size_t) i * 12];
    double f[3][3];
    for (int k = 0; k < 3; k++)
      for (int c = 0; c < 3; c++) f[k][c] = edge_vec[3 * slot[k] + c];
    double nrm[3];
    element_normal(f, nrm, nullptr);

    int64_t out[12];
    for (int k = 0; k < 3; k++) out[k] = slot[k];
    int filled[6] = {};
    int child_slot[6];
    for (int j = 0; j < 6; j++) {
      const double *sv = edge_vec + 3 * slot[3 + j];
      int parent = 0;
      double gap_min = 0.0;
      for (int k = 0; k < 3; k++) {
        double d[3] = {sv[0] - f[k][0], sv[1] - f[k][1], sv[2] - f[k][2]};
        const double gap = norm3(d);
        if (k == 0 || gap < gap_min) {
          gap_min = gap;
          parent = k;
        }
      }
      double t[3];
      cross3(f[parent], sv, t);
      const bool plus = dot3(t, nrm) > 0;
      child_slot[j] = plus ? 3 + parent : 6 + parent;
      filled[child_slot[j] - 3]++;
    }
    bool ok = true;
    for (int j = 0; j < 6; j++) ok = ok && filled[j] == 1;
    if (!ok) {
      if (bad_second < 0) {
        bad_second = i;
        std::copy(filled, filled + 6, bad_second_counts);
      }
      continue;
    }
    for (int j = 0; j < 6; j++) out[child_slot[j]] = slot[3 + j];

    double bis[3][3], bisn[3];
    for (int r = 0; r < 3; r++) {
      for (int c = 0; c < 3; c++) bis[r][c] = f[r][c] + f[(r + 1) % 3][c];
      bisn[r] = norm3(bis[r]);
    }
    int per_ring[3] = {};
    int ring_of[3];
    for (int t = 0; t < 3; t++) {
      const double *tv = edge_vec + 3 * slot[9 + t];
      const double tn = norm3(tv);
      int ring = 0;
      double best = 0.0;
      for (int r = 0; r < 3; r++) {
        const double cosine = dot3(tv, bis[r]) / (tn * bisn[r]);
        if (r == 0 || cosine > best) {
          best = cosine;
          ring = r;
        }
      }
      ring_of[t] = ring;
      per_ring[ring]++;
    }
    ok = per_ring[0] == 1 && per_ring[1] == 1 && per_ring[2] == 1;
    if (!ok) {
      if (bad_third < 0) {
        bad_third = i;
        std::copy(per_ring, per_ring + 3, bad_third_counts);
      }
      continue;
    }
    for (int t = 0; t < 3; t++) out[9 + ring_of[t]] = slot[9 + t];
    std::copy(out, out + 12, slot);
  }
  if (bad_second >= 0) {
    error = "areanet: no complete area element at centre index " + std::to_string(bad_second) +
        " (" + spec.species[spec_[bad_second]] +
        "): the 6 second-shell atoms do not pair up as two per first-shell atom, one on each side "
        "(children per first-shell atom and side: " + counts_text(bad_second_counts, 6) +
        "); the shells overlap";
    return false;
  }
  if (bad_third >= 0) {
    error = "areanet: no complete area element at centre index " + std::to_string(bad_third) +
        " (" + spec.species[spec_[bad_third]] +
        "): the 3 third-shell atoms do not fall one per hexagon (atoms per ring: " +
        counts_text(bad_third_counts, 3) + "); the shells overlap";
    return false;
  }

  // 3. energies and gradients, species by species, block by block

  std::fill(atom_energy, atom_energy + n, 0.0);
  std::fill(de_dedge, de_dedge + 3 * nedges, 0.0);
  if (m.domain_check) {
    m.excess.assign(n, 0.0);
    m.excess_feature.assign(n, -1);
  }
  for (int s = 0; s < m.S; s++) {
    if (!spec.is_centre[s]) continue;
    m.members.clear();
    for (int64_t i = 0; i < n; i++)
      if (spec_[i] == s) m.members.push_back(i);
    for (size_t start = 0; start < m.members.size(); start += m.block) {
      const int nb = static_cast<int>(std::min<size_t>(m.block, m.members.size() - start));
      if (m.precision == FLOAT64)
        m.run_block<double>(s, nb, &m.members[start], edge_vec, atom_energy, de_dedge, m.xin64,
                            m.out64, m.gx64, m.net64[s], m.work64, m.kernels.f64);
      else
        m.run_block<float>(s, nb, &m.members[start], edge_vec, atom_energy, de_dedge, m.xin32,
                           m.out32, m.gx32, m.net32[s], m.work32, m.kernels.f32);
    }
  }
  return true;
}
