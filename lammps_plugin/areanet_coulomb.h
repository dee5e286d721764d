/* ----------------------------------------------------------------------
   areanet: area-element neural-network potential for h-BN.
   The long-range "sheet Coulomb" term of a charged model, as the LAMMPS
   pair style adds it (term for term the Python reference
   potential/sheet_coulomb.py; the two agree to rounding).

   Fixed charges q_i (per species) in the plane of the sheet, Gaussian-
   smoothed with width sigma, summed over the in-plane reciprocal lattice:

     E   = (k_e/A) sum_{k in half plane} w(k) |S(k)|^2 - k_e sqrt(pi/2)/(2 sigma) sum_i q_i^2
     S(k) = sum_j q_j exp(i k.r_j)     (x, y of the positions only)
     w(k) = 2 pi exp(-k^2 sigma^2/2) / k

   with k = n1 b1 + n2 b2 (n1 > 0, or n1 = 0 and n2 > 0), |k| <= sqrt(2 ln 1e10)/sigma,
   b1, b2 the reciprocal vectors of the in-plane cell a = (lx, 0), b = (xy, ly), A = lx ly.
   Per atom:
     e_i = (k_e/A) q_i sum_k w Re(exp(i k.r_i) S*(k)) - k_e sqrt(pi/2)/(2 sigma) q_i^2
     F_i = 2 (k_e/A) q_i sum_k w k Im(exp(i k.r_i) S*(k))     (F_z = 0)
   Virial (W_ab = -dE/d eps_ab, LAMMPS order xx yy zz xy xz yz):
     W_ab = sum_k E_k [delta_ab - (sigma^2 + 1/k^2) k_a k_b] for a, b in {x, y}, 0 with z,
     E_k = (k_e/A) w |S|^2.

   exp(i k.r) = exp(i b1.r)^n1 exp(i b2.r)^n2: per atom the two phases are raised to
   every power by recurrence and combined by complex multiplication, so the cost is
   O(atoms x k-vectors) multiplications and no sin/cos per (atom, k).

   Usage under MPI (the pair style): set_cell(); structure_factor() over the owned
   atoms; sum S over all ranks; atom_terms() for the owned atoms; virial() once.
   Plain C++17: no LAMMPS, no MPI, no torch.
------------------------------------------------------------------------- */

#ifndef AREANET_COULOMB_H
#define AREANET_COULOMB_H

#include <cstddef>
#include <string>
#include <vector>

namespace areanet {

class SheetCoulomb {
 public:
  static constexpr double COULOMB = 14.399645;    // e^2/(4 pi eps0), eV Angstrom (qqr2e metal)
  static constexpr double ACCURACY = 1e-10;       // k with exp(-k^2 sigma^2/2) below: left out

  // radius (1/Angstrom) of the k disc for the Gaussian width sigma: sqrt(2 ln(1/ACCURACY))/sigma
  static double k_cut(double width);

  // `width`: the Gaussian width sigma (Angstrom), > 0.
  explicit SheetCoulomb(double width);

  // The in-plane cell: a = (lx, 0), b = (xy, ly).  Rebuilds the k list when it changed
  // (returns true then).  lx, ly > 0.
  bool set_cell(double lx, double ly, double xy);

  double width() const { return width_; }
  double area() const { return lx_ * ly_; }
  std::size_t size() const { return kx_.size(); }    // k-vectors of the half plane
  int n1_max() const { return n1_max_; }
  int n2_max() const { return n2_max_; }

  // The self-energy of one charge, k_e sqrt(pi/2)/(2 sigma) q^2 (subtracted in e_i).
  double self_energy(double q) const;

  // S(k) of n atoms (positions x[i][0..1], charges q[i]), ADDED to s, which holds
  // 2 size() doubles: s[k] += Re S(k), s[size() + k] += Im S(k).
  void structure_factor(int n, const double *const *x, const double *q, double *s);

  // For n atoms, given the total S of all atoms (s as above): adds e_i to energy[i] (if
  // energy is not null) and F_i to f[i][0..1]; returns the sum of the e_i.
  double atom_terms(int n, const double *const *x, const double *q, const double *s,
                    double *energy, double *const *f);

  // The virial of the whole system from the total S, LAMMPS order xx yy zz xy xz yz;
  // returns the k-sum energy sum_k E_k (without the self-energy).
  double virial(const double *s, double v[6]) const;

  // For the log: "K k-vectors (|n1| <= .., |n2| <= ..)".
  std::string describe() const;

 private:
  double width_;
  double lx_ = 0.0, ly_ = 0.0, xy_ = 0.0;
  double b1x_ = 0.0, b1y_ = 0.0, b2x_ = 0.0, b2y_ = 0.0;    // reciprocal vectors
  int n1_max_ = -1, n2_max_ = -1;
  // per k (ordered by n1, then n2)
  std::vector<double> kx_, ky_, w_, vfac_;    // vfac = sigma^2 + 1/k^2
  std::vector<int> j2_;                      // n2 + n2_max (index into the p2 scratch)
  // per n1 = 0..n1_max: its k are [start_[n1], start_[n1+1])
  std::vector<std::size_t> start_;
  // scratch: exp(i b1.r)^n1 (n1 = 0..n1_max), exp(i b2.r)^n2 (n2 = -n2_max..n2_max)
  std::vector<double> p1re_, p1im_, p2re_, p2im_;
  std::vector<double> are_, aim_;    // w S*(k), per k

  void phases(double x, double y);
};

}    // namespace areanet

#endif
