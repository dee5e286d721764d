/* ----------------------------------------------------------------------
   areanet: the sheet Coulomb on a 2D mesh (see areanet_mesh.h and
   potential/sheet_mesh.py).
------------------------------------------------------------------------- */

#include "areanet_mesh.h"

#include "areanet_coulomb.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

using namespace areanet;

static constexpr double PI = 3.14159265358979323846;
static constexpr int ALIASES = 3;                        // alias images counted in the estimate
static constexpr int QUAD_RADII = 256, QUAD_ANGLES = 128;    // midpoint quadrature of the k disc

/* ----------------------------------------------------------------------
   relative alias amplitude of a B-spline-interpolated mode at x = k.h/2pi,
   1 for a mode the grid cannot hold (|x| >= 1/2)
------------------------------------------------------------------------- */

static double alias_error(double x, int order)
{
  const double ax = std::fabs(x);
  if (ax >= 0.5) return 1.0;
  double err = 0.0;
  for (int l = 1; l <= ALIASES; l++)
    err += std::pow(ax / (l - ax), order) + std::pow(ax / (l + ax), order);
  return err;
}

/* ---------------------------------------------------------------------- */

SheetMesh::SheetMesh(double width, double accuracy, int order) :
    width_(width), accuracy_(accuracy), order_request_(order)
{
}

SheetMesh::~SheetMesh()
{
  release();
}

void SheetMesh::release()
{
  if (forward_) fftw_destroy_plan(static_cast<fftw_plan>(forward_));
  if (backward_) fftw_destroy_plan(static_cast<fftw_plan>(backward_));
  if (spectrum_) fftw_free(spectrum_);
  forward_ = backward_ = spectrum_ = nullptr;
}

/* ----------------------------------------------------------------------
   SAFETY q^2 sqrt(rho int d^2k exp(-k^2 sigma^2) (eps(x1) + eps(x2))^2),
   x_a = k.h_a/2pi (sheet_mesh.mesh_error)
------------------------------------------------------------------------- */

double SheetMesh::mesh_error(double h1x, double h1y, double h2x, double h2y, double width,
                             int order, double density, double mean_q2)
{
  const double kc = SheetCoulomb::k_cut(width);
  const double dr = kc / QUAD_RADII, dt = 2.0 * PI / QUAD_ANGLES;
  double sum = 0.0;
  for (int it = 0; it < QUAD_ANGLES; it++) {
    const double t = (it + 0.5) * dt;
    const double c = std::cos(t), s = std::sin(t);
    const double p1 = (c * h1x + s * h1y) / (2.0 * PI), p2 = (c * h2x + s * h2y) / (2.0 * PI);
    for (int ir = 0; ir < QUAD_RADII; ir++) {
      const double r = (ir + 0.5) * dr;
      const double eps = alias_error(r * p1, order) + alias_error(r * p2, order);
      sum += r * std::exp(-r * r * width * width) * dr * dt * eps * eps;
    }
  }
  return SAFETY * mean_q2 * std::sqrt(density * sum);
}

/* ----------------------------------------------------------------------
   the smallest m >= n with no prime factors but 2, 3 and 5
------------------------------------------------------------------------- */

int SheetMesh::nice_size(int n)
{
  for (int m = std::max(n, 2);; m++) {
    int r = m;
    for (int f : {2, 3, 5})
      while (r % f == 0) r /= f;
    if (r == 1) return m;
  }
}

/* ----------------------------------------------------------------------
   sheet_mesh.choose_mesh: per order the coarsest equal-step grid meeting
   the accuracy (bisection in the step), then the cheapest of them
------------------------------------------------------------------------- */

bool SheetMesh::choose(double lx, double ly, double xy, double n_atoms, double mean_q2,
                       std::string &why)
{
  const double lb = std::sqrt(xy * xy + ly * ly);
  const double density = n_atoms / (lx * ly);
  struct Grid {
    int k1, k2;
    double err;
  };
  auto grid_of = [&](double h, int p) {
    Grid g;
    g.k1 = nice_size(static_cast<int>(std::ceil(lx / h)));
    g.k2 = nice_size(static_cast<int>(std::ceil(lb / h)));
    g.err = mesh_error(lx / g.k1, 0.0, xy / g.k2, ly / g.k2, width_, p, density, mean_q2);
    return g;
  };

  double best_cost = std::numeric_limits<double>::infinity();
  const int first = order_request_ > 0 ? order_request_ : AUTO_MIN_ORDER;
  const int last = order_request_ > 0 ? order_request_ : MAX_ORDER;
  for (int p = first; p <= last; p++) {
    double fine = 0.02 * width_, coarse = 2.0 * PI / SheetCoulomb::k_cut(width_);
    if (grid_of(fine, p).err > accuracy_) continue;
    for (int iter = 0; iter < 40; iter++) {
      const double mid = 0.5 * (fine + coarse);
      if (grid_of(mid, p).err <= accuracy_)
        fine = mid;
      else
        coarse = mid;
      if (coarse - fine < 1e-2 * fine) break;
    }
    const Grid g = grid_of(fine, p);
    const double m = static_cast<double>(g.k1) * g.k2;
    const double cost = 4.0 * n_atoms * p * p + m * (5.0 * std::log2(m) + 10.0);
    if (cost < best_cost) {
      best_cost = cost;
      order_ = p;
      k1_ = g.k1;
      k2_ = g.k2;
      error_ = g.err;
    }
  }
  if (!std::isfinite(best_cost)) {
    why = "no mesh of B-spline order " +
        (order_request_ > 0 ? std::to_string(order_request_)
                            : std::to_string(AUTO_MIN_ORDER) + ".." + std::to_string(MAX_ORDER)) +
        " reaches an RMS force error of " + std::to_string(accuracy_) + " k_e";
    k1_ = k2_ = 0;
    return false;
  }

  k2h_ = k2_ / 2 + 1;
  release();
  grid_.assign(static_cast<size_t>(k1_) * k2_, 0.0);
  kernel_.assign(static_cast<size_t>(k1_) * k2h_, 0.0);
  spectrum_ = fftw_malloc(sizeof(fftw_complex) * static_cast<size_t>(k1_) * k2h_);
  auto *spectrum = static_cast<fftw_complex *>(spectrum_);
  forward_ = fftw_plan_dft_r2c_2d(k1_, k2_, grid_.data(), spectrum, FFTW_ESTIMATE);
  backward_ = fftw_plan_dft_c2r_2d(k1_, k2_, spectrum, grid_.data(), FFTW_ESTIMATE);

  // |b(m)|^-2 = |sum_{j=0}^{p-2} M_p(j+1) exp(2 pi i m j/K)|^2 per axis; M_p at the integers
  std::vector<double> knots(order_), d(order_);
  weights(0.0, knots.data(), d.data());    // knots[j] = M_p(j)
  auto modulus = [&](int size, std::vector<double> &mod) {
    mod.assign(size, 0.0);
    for (int m = 0; m < size; m++) {
      double re = 0.0, im = 0.0;
      for (int j = 0; j < order_ - 1; j++) {
        const double phase = 2.0 * PI * m * j / size;
        re += knots[j + 1] * std::cos(phase);
        im += knots[j + 1] * std::sin(phase);
      }
      const double den = re * re + im * im;
      mod[m] = den > 1e-30 ? 1.0 / den : 0.0;
    }
  };
  modulus(k1_, mod1_);
  modulus(k2_, mod2_);
  lx_ = ly_ = xy_ = 0.0;    // set_cell() fills the kernel
  return true;
}

/* ----------------------------------------------------------------------
   the kernel w(k)|B(m)|^2 of every half-spectrum mode for this box
------------------------------------------------------------------------- */

void SheetMesh::set_cell(double lx, double ly, double xy)
{
  if (lx == lx_ && ly == ly_ && xy == xy_) return;
  lx_ = lx;
  ly_ = ly;
  xy_ = xy;
  b1x_ = 2.0 * PI / lx;
  b1y_ = -2.0 * PI * xy / (lx * ly);
  b2y_ = 2.0 * PI / ly;
  const double kc2 = SheetCoulomb::k_cut(width_) * SheetCoulomb::k_cut(width_);
  const double sigma2 = width_ * width_;
  for (int i = 0; i < k1_; i++) {
    const int n1 = i <= (k1_ - 1) / 2 ? i : i - k1_;
    for (int n2 = 0; n2 < k2h_; n2++) {
      const double kx = n1 * b1x_, ky = n1 * b1y_ + n2 * b2y_;
      const double k2 = kx * kx + ky * ky;
      const bool nyquist = (k1_ % 2 == 0 && n1 == -k1_ / 2) || (k2_ % 2 == 0 && n2 == k2_ / 2);
      double &kern = kernel_[static_cast<size_t>(i) * k2h_ + n2];
      kern = 0.0;
      if (k2 > 0.0 && k2 <= kc2 && !nyquist)
        kern = 2.0 * PI * std::exp(-0.5 * k2 * sigma2) / std::sqrt(k2) * mod1_[i] * mod2_[n2];
    }
  }
}

/* ----------------------------------------------------------------------
   M_p(frac + j) in w[j] and its derivative in d[j], j = 0..p-1 (the weight
   of grid point floor(u) - j), by the recursion
   M_k(x) = x/(k-1) M_{k-1}(x) + (k-x)/(k-1) M_{k-1}(x-1)
------------------------------------------------------------------------- */

void SheetMesh::weights(double frac, double *w, double *d) const
{
  const int p = order_;
  double m[MAX_ORDER + 1] = {0.0};
  m[0] = frac;    // M_2(frac), M_2(frac + 1)
  m[1] = 1.0 - frac;
  for (int k = 3; k <= p; k++) {
    if (k == p) {
      for (int j = 0; j < p; j++) d[j] = (j < p - 1 ? m[j] : 0.0) - (j >= 1 ? m[j - 1] : 0.0);
    }
    for (int j = k - 1; j >= 0; j--) {
      const double x = frac + j;
      const double left = j < k - 1 ? m[j] : 0.0;
      const double right = j >= 1 ? m[j - 1] : 0.0;
      m[j] = (x * left + (k - x) * right) / (k - 1);
    }
  }
  if (p == 2) {
    d[0] = 1.0;
    d[1] = -1.0;
  }
  for (int j = 0; j < p; j++) w[j] = m[j];
}

/* ----------------------------------------------------------------------
   grid coordinates u_a = K_a s_a, s the fractional position in [0, 1)
------------------------------------------------------------------------- */

void SheetMesh::fractional(const double *x, double &u1, double &u2) const
{
  double s1 = x[0] / lx_ - xy_ * x[1] / (lx_ * ly_);
  double s2 = x[1] / ly_;
  s1 -= std::floor(s1);
  s2 -= std::floor(s2);
  u1 = s1 * k1_;
  u2 = s2 * k2_;
}

/* ---------------------------------------------------------------------- */

void SheetMesh::clear()
{
  std::fill(grid_.begin(), grid_.end(), 0.0);
}

void SheetMesh::stencil(const double *x, Stencil &s) const
{
  double u1, u2;
  fractional(x, u1, u2);
  const int base1 = static_cast<int>(std::floor(u1)), base2 = static_cast<int>(std::floor(u2));
  weights(u1 - base1, s.w1, s.d1);
  weights(u2 - base2, s.w2, s.d2);
  for (int l = 0; l < order_; l++) {
    s.g1[l] = ((base1 - l) % k1_ + k1_) % k1_;
    s.g2[l] = ((base2 - l) % k2_ + k2_) % k2_;
  }
}

void SheetMesh::spread(int n, const double *const *x, const double *q)
{
  const int p = order_;
  Stencil s;
  for (int i = 0; i < n; i++) {
    if (q[i] == 0.0) continue;
    stencil(x[i], s);
    for (int j = 0; j < p; j++) {
      double *row = grid_.data() + static_cast<size_t>(s.g1[j]) * k2_;
      const double qw = q[i] * s.w1[j];
      for (int l = 0; l < p; l++) row[s.g2[l]] += qw * s.w2[l];
    }
  }
}

/* ----------------------------------------------------------------------
   FFT of the charges; the energy and virial of every mode; the potential
   Phi = (k_e/A) IFFT(kernel FFT(Q)) back on the grid
------------------------------------------------------------------------- */

double SheetMesh::solve(double *v)
{
  fftw_execute(static_cast<fftw_plan>(forward_));
  auto *spectrum = static_cast<fftw_complex *>(spectrum_);
  const double scale = SheetCoulomb::COULOMB / (lx_ * ly_);
  const double sigma2 = width_ * width_;
  double sum = 0.0, vxx = 0.0, vyy = 0.0, vxy = 0.0;
  for (int i = 0; i < k1_; i++) {
    const int n1 = i <= (k1_ - 1) / 2 ? i : i - k1_;
    for (int n2 = 0; n2 < k2h_; n2++) {
      const size_t idx = static_cast<size_t>(i) * k2h_ + n2;
      const double kern = kernel_[idx];
      double *c = spectrum[idx];
      if (kern == 0.0) {
        c[0] = c[1] = 0.0;
        continue;
      }
      const double mult = n2 == 0 ? 1.0 : 2.0;    // the half spectrum: m2 < 0 by symmetry
      const double em = 0.5 * scale * mult * kern * (c[0] * c[0] + c[1] * c[1]);
      sum += em;
      if (v) {
        const double kx = n1 * b1x_, ky = n1 * b1y_ + n2 * b2y_;
        const double vfac = sigma2 + 1.0 / (kx * kx + ky * ky);
        vxx += em * vfac * kx * kx;
        vyy += em * vfac * ky * ky;
        vxy += em * vfac * kx * ky;
      }
      c[0] *= kern;
      c[1] *= kern;
    }
  }
  fftw_execute(static_cast<fftw_plan>(backward_));    // unnormalised: numpy's M irfft2
  for (double &g : grid_) g *= scale;
  if (v) {
    v[0] += sum - vxx;
    v[1] += sum - vyy;
    v[3] += -vxy;
  }
  return sum;
}

/* ---------------------------------------------------------------------- */

double SheetMesh::interpolate(int n, const double *const *x, const double *q, double *energy,
                              double *const *f) const
{
  const int p = order_;
  Stencil s;
  double total = 0.0;
  for (int i = 0; i < n; i++) {
    if (q[i] == 0.0) continue;
    stencil(x[i], s);
    double phi = 0.0, du1 = 0.0, du2 = 0.0;
    for (int j = 0; j < p; j++) {
      const double *row = grid_.data() + static_cast<size_t>(s.g1[j]) * k2_;
      double r = 0.0, rd = 0.0;
      for (int l = 0; l < p; l++) {
        r += s.w2[l] * row[s.g2[l]];
        rd += s.d2[l] * row[s.g2[l]];
      }
      phi += s.w1[j] * r;
      du1 += s.d1[j] * r;
      du2 += s.w1[j] * rd;
    }
    const double ei = 0.5 * q[i] * phi - self_energy(q[i]);
    if (energy) energy[i] += ei;
    total += ei;
    // grad u_a = K_a b_a / 2pi, with b1 = (b1x, b1y), b2 = (0, b2y)
    const double gx = du1 * k1_ * b1x_ / (2.0 * PI);
    const double gy = (du1 * k1_ * b1y_ + du2 * k2_ * b2y_) / (2.0 * PI);
    f[i][0] -= q[i] * gx;
    f[i][1] -= q[i] * gy;
  }
  return total;
}

/* ---------------------------------------------------------------------- */

double SheetMesh::self_energy(double q) const
{
  return SheetCoulomb::COULOMB * std::sqrt(PI / 2.0) / (2.0 * width_) * q * q;
}

double SheetMesh::bytes() const
{
  return sizeof(double) * (grid_.capacity() + kernel_.capacity() + mod1_.capacity() +
                           mod2_.capacity()) +
      sizeof(fftw_complex) * static_cast<double>(k1_) * k2h_;
}

std::string SheetMesh::describe() const
{
  char buf[320];
  snprintf(buf, sizeof(buf),
           "mesh %d x %d (spacing %.3f x %.3f A), B-spline order %d, requested accuracy %g, "
           "estimated RMS force error %.2g k_e = %.2g eV/A",
           k1_, k2_, lx_ / k1_, std::sqrt(xy_ * xy_ + ly_ * ly_) / k2_, order_, accuracy_, error_,
           error_ * SheetCoulomb::COULOMB);
  return buf;
}
