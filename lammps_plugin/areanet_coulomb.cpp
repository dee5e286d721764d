/* ----------------------------------------------------------------------
   areanet: the long-range sheet Coulomb term (see areanet_coulomb.h and
   potential/sheet_coulomb.py).
------------------------------------------------------------------------- */

#include "areanet_coulomb.h"

#include <cmath>

using namespace areanet;

/* ---------------------------------------------------------------------- */

double SheetCoulomb::k_cut(double width)
{
  return std::sqrt(2.0 * std::log(1.0 / ACCURACY)) / width;
}

static constexpr double PI = 3.14159265358979323846;

/* ---------------------------------------------------------------------- */

SheetCoulomb::SheetCoulomb(double width) : width_(width) {}

/* ----------------------------------------------------------------------
   the k list of k_vectors() in sheet_coulomb.py: n1 = 0..n1_max (outer),
   n2 = -n2_max..n2_max (inner), half plane, |k| <= k_cut
------------------------------------------------------------------------- */

bool SheetCoulomb::set_cell(double lx, double ly, double xy)
{
  if (lx == lx_ && ly == ly_ && xy == xy_ && n1_max_ >= 0) return false;
  lx_ = lx;
  ly_ = ly;
  xy_ = xy;

  // rows b1, b2 of 2 pi (ab)^-T with ab = [[lx, 0], [xy, ly]]: a_i . b_j = 2 pi delta_ij
  b1x_ = 2.0 * PI / lx;
  b1y_ = -2.0 * PI * xy / (lx * ly);
  b2x_ = 0.0;
  b2y_ = 2.0 * PI / ly;

  const double kc = k_cut(width_);
  const double k_cut2 = kc * kc;
  n1_max_ = static_cast<int>(std::floor(kc * lx / (2.0 * PI)));
  n2_max_ = static_cast<int>(std::floor(kc * std::sqrt(xy * xy + ly * ly) / (2.0 * PI)));

  kx_.clear();
  ky_.clear();
  w_.clear();
  vfac_.clear();
  j2_.clear();
  start_.assign(1, 0);
  const double sigma2 = width_ * width_;
  for (int n1 = 0; n1 <= n1_max_; n1++) {
    for (int n2 = -n2_max_; n2 <= n2_max_; n2++) {
      if (n1 == 0 && n2 <= 0) continue;
      const double kx = n1 * b1x_ + n2 * b2x_;
      const double ky = n1 * b1y_ + n2 * b2y_;
      const double k2 = kx * kx + ky * ky;
      if (k2 > k_cut2) continue;
      kx_.push_back(kx);
      ky_.push_back(ky);
      w_.push_back(2.0 * PI * std::exp(-0.5 * k2 * sigma2) / std::sqrt(k2));
      vfac_.push_back(sigma2 + 1.0 / k2);
      j2_.push_back(n2 + n2_max_);
    }
    start_.push_back(kx_.size());
  }

  p1re_.assign(n1_max_ + 1, 0.0);
  p1im_.assign(n1_max_ + 1, 0.0);
  p2re_.assign(2 * n2_max_ + 1, 0.0);
  p2im_.assign(2 * n2_max_ + 1, 0.0);
  are_.assign(kx_.size(), 0.0);
  aim_.assign(kx_.size(), 0.0);
  return true;
}

/* ---------------------------------------------------------------------- */

double SheetCoulomb::self_energy(double q) const
{
  return COULOMB * std::sqrt(PI / 2.0) / (2.0 * width_) * q * q;
}

/* ----------------------------------------------------------------------
   exp(i b1.r)^n1 for n1 = 0..n1_max into p1, exp(i b2.r)^n2 for
   n2 = -n2_max..n2_max into p2[n2 + n2_max], by recurrence
------------------------------------------------------------------------- */

void SheetCoulomb::phases(double x, double y)
{
  const double t1 = b1x_ * x + b1y_ * y;
  const double t2 = b2x_ * x + b2y_ * y;
  const double c1 = std::cos(t1), s1 = std::sin(t1);
  const double c2 = std::cos(t2), s2 = std::sin(t2);

  double *p1r = p1re_.data(), *p1i = p1im_.data();
  p1r[0] = 1.0;
  p1i[0] = 0.0;
  for (int n = 1; n <= n1_max_; n++) {
    p1r[n] = p1r[n - 1] * c1 - p1i[n - 1] * s1;
    p1i[n] = p1r[n - 1] * s1 + p1i[n - 1] * c1;
  }

  double *p2r = p2re_.data() + n2_max_, *p2i = p2im_.data() + n2_max_;    // index n2
  p2r[0] = 1.0;
  p2i[0] = 0.0;
  for (int n = 1; n <= n2_max_; n++) {
    p2r[n] = p2r[n - 1] * c2 - p2i[n - 1] * s2;
    p2i[n] = p2r[n - 1] * s2 + p2i[n - 1] * c2;
    p2r[-n] = p2r[n];
    p2i[-n] = -p2i[n];
  }
}

/* ---------------------------------------------------------------------- */

void SheetCoulomb::structure_factor(int n, const double *const *x, const double *q, double *s)
{
  const std::size_t nk = size();
  double *sre = s;
  double *sim = s + nk;
  const int *j2 = j2_.data();
  const double *p2r = p2re_.data(), *p2i = p2im_.data();

  for (int i = 0; i < n; i++) {
    if (q[i] == 0.0) continue;
    phases(x[i][0], x[i][1]);
    for (int n1 = 0; n1 <= n1_max_; n1++) {
      const double tr = q[i] * p1re_[n1];
      const double ti = q[i] * p1im_[n1];
      const std::size_t first = start_[n1], last = start_[n1 + 1];
      if (first == last) continue;
      // the n2 of one n1 row are consecutive (a line through a disc): p2 is read as a
      // contiguous slice, which the compiler vectorises
      const double *u2r = p2r + j2[first] - first, *u2i = p2i + j2[first] - first;
      for (std::size_t k = first; k < last; k++) {
        const double ur = u2r[k], ui = u2i[k];
        sre[k] += tr * ur - ti * ui;
        sim[k] += tr * ui + ti * ur;
      }
    }
  }
}

/* ----------------------------------------------------------------------
   per atom, with A_k = w_k conj(S_k) and c = exp(i k.r_i) = p1[n1] p2[n2]:
     e_i = scale q_i Re sum_k c A_k - self,  F_i = 2 scale q_i sum_k k Im(c A_k)
   and, over the k of one n1, sum_k c A_k = p1 sum_k p2 A_k (likewise with kx, ky)
------------------------------------------------------------------------- */

double SheetCoulomb::atom_terms(int n, const double *const *x, const double *q, const double *s,
                                double *energy, double *const *f)
{
  const std::size_t nk = size();
  const double scale = COULOMB / area();
  for (std::size_t k = 0; k < nk; k++) {
    are_[k] = w_[k] * s[k];
    aim_[k] = -w_[k] * s[nk + k];
  }
  const int *j2 = j2_.data();
  const double *p2r = p2re_.data(), *p2i = p2im_.data();
  const double *ar = are_.data(), *ai = aim_.data(), *kx = kx_.data(), *ky = ky_.data();

  double total = 0.0;
  for (int i = 0; i < n; i++) {
    if (q[i] == 0.0) continue;
    phases(x[i][0], x[i][1]);
    double e = 0.0, fx = 0.0, fy = 0.0;
    for (int n1 = 0; n1 <= n1_max_; n1++) {
      double zr = 0.0, zi = 0.0, zxi = 0.0, zxr = 0.0, zyr = 0.0, zyi = 0.0;
      const std::size_t first = start_[n1], last = start_[n1 + 1];
      if (first == last) continue;
      const double *u2r = p2r + j2[first] - first, *u2i = p2i + j2[first] - first;
      for (std::size_t k = first; k < last; k++) {
        const double ur = u2r[k], ui = u2i[k];
        const double cr = ur * ar[k] - ui * ai[k];    // p2 A_k
        const double ci = ur * ai[k] + ui * ar[k];
        zr += cr;
        zi += ci;
        zxr += kx[k] * cr;
        zxi += kx[k] * ci;
        zyr += ky[k] * cr;
        zyi += ky[k] * ci;
      }
      const double tr = p1re_[n1], ti = p1im_[n1];
      e += tr * zr - ti * zi;     // Re(p1 Z)
      fx += tr * zxi + ti * zxr;  // Im(p1 Zx)
      fy += tr * zyi + ti * zyr;
    }
    const double ei = scale * q[i] * e - self_energy(q[i]);
    if (energy) energy[i] += ei;
    total += ei;
    f[i][0] += 2.0 * scale * q[i] * fx;
    f[i][1] += 2.0 * scale * q[i] * fy;
  }
  return total;
}

/* ---------------------------------------------------------------------- */

double SheetCoulomb::virial(const double *s, double v[6]) const
{
  const std::size_t nk = size();
  const double scale = COULOMB / area();
  double sum = 0.0, xx = 0.0, yy = 0.0, xy = 0.0;
  for (std::size_t k = 0; k < nk; k++) {
    const double ek = scale * w_[k] * (s[k] * s[k] + s[nk + k] * s[nk + k]);
    sum += ek;
    xx += ek * vfac_[k] * kx_[k] * kx_[k];
    yy += ek * vfac_[k] * ky_[k] * ky_[k];
    xy += ek * vfac_[k] * kx_[k] * ky_[k];
  }
  v[0] = sum - xx;
  v[1] = sum - yy;
  v[2] = 0.0;
  v[3] = -xy;
  v[4] = 0.0;
  v[5] = 0.0;
  return sum;
}

/* ---------------------------------------------------------------------- */

std::string SheetCoulomb::describe() const
{
  return std::to_string(size()) + " k-vectors (n1 <= " + std::to_string(n1_max_) +
      ", |n2| <= " + std::to_string(n2_max_) + ")";
}
