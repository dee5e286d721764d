/* ----------------------------------------------------------------------
   areanet: the long-range sheet Coulomb term of a charged model on a 2D
   mesh (smooth particle-mesh Ewald), the same energy as the direct k-sum
   of areanet_coulomb.h: the same k set (|k| <= k_cut), the same kernel
   w(k) = 2 pi exp(-k^2 sigma^2/2)/k, the same self term.  Term for term
   potential/sheet_mesh.py (formulas and the accuracy estimate there):

     Q(g)  = sum_i q_i M_p(u_i1 - g1) M_p(u_i2 - g2)   (u = K s, s fractional)
     E     = (k_e/2A) sum_m w(k_m) |B(m)|^2 |FFT(Q)(m)|^2 - self
     Phi   = (k_e/A) IFFT(w |B|^2 FFT(Q)),  e_i = q_i/2 sum_g theta_i Phi - self_i,
     F_i   = -q_i sum_g Phi grad theta_i   (the exact gradient of E)
     W_ab  = sum_m E_m [delta_ab - (sigma^2 + 1/k^2) k_a k_b]   (exactly -dE/d eps)

   M_p the cardinal B-spline of order p, |B|^2 the Euler exponential spline
   factors (Essmann et al. 1995), the Nyquist rows left out.

   The grid (K1 x K2, order p) is chosen once per run from the requested
   accuracy (RMS force error relative to two unit charges 1 A apart, as
   LAMMPS' kspace_modify states PPPM's) and kept while the box changes
   (only the kernel follows the box), so that the energy stays continuous
   under NPT.  The FFT is FFTW 3 (real-to-complex, 2D).

   Usage under MPI (the pair style): choose(); set_cell() each step;
   spread() over the owned atoms into grid(); sum grid() over all ranks;
   solve() (every rank the same, returns the energy sum and the virial);
   interpolate() for the owned atoms.  Plain C++17 + FFTW: no LAMMPS, no MPI.
------------------------------------------------------------------------- */

#ifndef AREANET_MESH_H
#define AREANET_MESH_H

#include <cstddef>
#include <string>
#include <vector>

namespace areanet {

class SheetMesh {
 public:
  static constexpr double DEFAULT_ACCURACY = 1e-7;    // RMS force error / k_e (1/A^2)
  static constexpr double SAFETY = 7.0;               // over the uncorrelated-charge estimate
  static constexpr int MESH_ATOMS = 2000;             // "auto": mesh from this many atoms on
  static constexpr int MIN_ORDER = 4, MAX_ORDER = 10, AUTO_MIN_ORDER = 5;

  // width: sigma (A) > 0; accuracy in (0, 1); order 0 = the cheapest of AUTO_MIN_ORDER..MAX_ORDER
  SheetMesh(double width, double accuracy, int order);
  ~SheetMesh();
  SheetMesh(const SheetMesh &) = delete;
  SheetMesh &operator=(const SheetMesh &) = delete;

  // Chooses order and grid for the in-plane cell a = (lx, 0), b = (xy, ly) holding n_atoms
  // of mean square charge mean_q2 (e^2), and plans the FFTs.  False (with the reason) if no
  // grid of an allowed order reaches the accuracy.
  bool choose(double lx, double ly, double xy, double n_atoms, double mean_q2, std::string &why);
  bool chosen() const { return k1_ > 0; }

  // The box of this step (the grid stays): recomputes the kernel when it changed.
  void set_cell(double lx, double ly, double xy);

  // Zeroes the grid, then adds the charges of n atoms (x[i][0..1], q[i]).
  void clear();
  void spread(int n, const double *const *x, const double *q);
  double *grid() { return grid_.data(); }
  int grid_size() const { return k1_ * k2_; }

  // From the grid summed over all atoms: the potential on the grid (in place of the charges);
  // returns sum_m E_m (the k-sum energy without self terms) and, if v is not null, adds the
  // virial (LAMMPS order xx yy zz xy xz yz).
  double solve(double *v);

  // Adds e_i (energy not null) and F_i of n atoms; returns the sum of their e_i.
  double interpolate(int n, const double *const *x, const double *q, double *energy,
                     double *const *f) const;

  double self_energy(double q) const;
  double error_estimate() const { return error_; }
  double bytes() const;
  std::string describe() const;

  // The estimated RMS force error / k_e of a grid with steps (h1x, h1y), (h2x, h2y) (A).
  static double mesh_error(double h1x, double h1y, double h2x, double h2y, double width, int order,
                           double density, double mean_q2);
  static int nice_size(int n);

 private:
  double width_, accuracy_;
  int order_request_;
  int order_ = 0, k1_ = 0, k2_ = 0, k2h_ = 0;
  double error_ = 0.0;
  double lx_ = 0.0, ly_ = 0.0, xy_ = 0.0;
  double b1x_ = 0.0, b1y_ = 0.0, b2y_ = 0.0;    // reciprocal vectors (b2x = 0)
  std::vector<double> grid_;                     // [K1 K2] charges, then the potential
  std::vector<double> kernel_;                   // [K1 (K2/2+1)] w |B|^2, 0 for modes left out
  std::vector<double> mod1_, mod2_;              // |b(m)|^2 per axis
  void *spectrum_ = nullptr;                     // fftw_complex [K1 (K2/2+1)]
  void *forward_ = nullptr, *backward_ = nullptr;    // fftw_plan

  // the p x p grid points an atom touches: wrapped indices and the weights (w) and their
  // derivatives (d) along each axis -- what spread() and interpolate() share
  struct Stencil {
    int g1[MAX_ORDER], g2[MAX_ORDER];
    double w1[MAX_ORDER], d1[MAX_ORDER], w2[MAX_ORDER], d2[MAX_ORDER];
  };
  void stencil(const double *x, Stencil &s) const;
  void weights(double frac, double *w, double *d) const;
  void fractional(const double *x, double &u1, double &u2) const;
  void release();
};

}    // namespace areanet

#endif
