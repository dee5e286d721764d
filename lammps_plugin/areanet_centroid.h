/* ----------------------------------------------------------------------
   areanet: the centroid per-atom virial of pair_style areanet
   (compute centroid/stress/atom, and so compute heat/flux), derived from
   the model contract.

   The contract.  The energy is a sum of centre energies, E = sum_i E_i, and
   E_i depends only on the edge vectors r_ij = x_j - x_i of centre i (every
   neighbour j within the cutoff, periodic images being separate edges).  The
   model returns g_ij = dE_i/dr_ij.  So, with F_k^(i) = -dE_i/dx_k the force
   that term E_i puts on atom k,

     F_j^(i) = -g_ij  (j a neighbour of i),   F_i^(i) = sum_j g_ij,
     sum_k F_k^(i) = 0                        (E_i is translation invariant).

   The virial.  Because the forces of one term sum to zero, its virial
   sum_k x_k (x) F_k^(i) does not depend on the origin; measured from the
   centre x_i it is

     W^(i) = sum_j (x_j - x_i) (x) F_j^(i) = -sum_j r_ij (x) g_ij,

   a sum over the edges of i, and sum_i W^(i) is the global virial that
   pair_areanet.cpp already tallies (W_ab = -r_a g_b).

   The per-atom split.  The heat current of an energy split into per-atom
   energies e_k located at the atoms is J = d/dt sum_k x_k e_k (Hardy).
   With e_i = m_i v_i^2 / 2 + E_i, de_i/dt = F_i . v_i + sum_j g_ij . (v_j - v_i)
   and F_k = sum_j g_kj - sum_i g_ik (the sum of all terms' forces on k):

     sum_k x_k de_k/dt = sum_i sum_j (x_i - x_j) (g_ij . v_j)
                       = sum_i sum_j W_j^(i) . v_j,   W_j^(i) = -r_ij (x) g_ij,

   so J = sum_k e_k v_k + sum_k W_k . v_k (x_k enters only through r_ij: no
   absolute position, no periodic image ambiguity) with the per-atom
   centroid virial

     W_k = sum over the edges (i, k) that end at k of  -r_ik (x) g_ik,
     W_k,ab = -r_a g_b   (all 9 components: not symmetric),

   and the centre atom i itself gets nothing from its own term.  This is
   the centroid virial of compute centroid/stress/atom (Surblys et al.,
   PRE 99, 051301 (2019)) with every many-body term's reference point at
   its centre atom, the point where pair_style areanet puts the term's energy
   (eatom_i = E_i); it is the same heat current as Fan et al., PRB 92,
   094301 (2015), J = sum_i sum_j r_ij (dE_j/dr_ji . v_i).  Nothing is
   approximated: sum_k W_k is the global virial exactly (the same products,
   added in another order), and LAMMPS' compute heat/flux then evaluates J
   from it (J_a = sum_k e_k v_k,a - sum_b S_k,ab v_k,b with S = -W).

   LAMMPS' order of the 9 components (cvatom[k][0..8]):
     xx yy zz xy xz yz yx zx zy,    "ab" = -r_a g_b.
   Ghost atoms k accumulate too and are reverse-communicated by the compute
   (newton pair on), as for vatom.

   The long-range sheet Coulomb of a charged model is not of this form (its
   energy is a reciprocal-space lattice sum, not a sum of edge terms): see
   pair_areanet.cpp, init_style(), for why centroid/stress/atom is refused
   with it.
------------------------------------------------------------------------- */

#ifndef AREANET_CENTROID_H
#define AREANET_CENTROID_H

namespace areanet {

// add the centroid virial of edge (i, k) -- r = r_ik, g = dE_i/dr_ik -- to cv = cvatom[k]
inline void tally_centroid_virial(double *cv, const double *r, const double *g)
{
  cv[0] -= r[0] * g[0];    // xx
  cv[1] -= r[1] * g[1];    // yy
  cv[2] -= r[2] * g[2];    // zz
  cv[3] -= r[0] * g[1];    // xy
  cv[4] -= r[0] * g[2];    // xz
  cv[5] -= r[1] * g[2];    // yz
  cv[6] -= r[1] * g[0];    // yx
  cv[7] -= r[2] * g[0];    // zx
  cv[8] -= r[2] * g[1];    // zy
}

// why a charged model refuses compute centroid/stress/atom (the log and the error say it)
constexpr const char *CHARGED_CENTROID_REASON =
    "its long-range sheet Coulomb term is a reciprocal-space lattice sum over all periodic "
    "images, not a sum of per-centre edge terms, and no per-atom split of it gives a correct "
    "heat current: the pairwise (Hardy) one is a conditionally convergent lattice sum in 2D, "
    "and the Heyes split of reciprocal space sums to the global virial but is not the time "
    "derivative of any energy density, so compute heat/flux would be wrong. For thermal "
    "transport use a local model (models/hbn-pbe-local.pt, the same PBE data without the "
    "charges; README, Thermal transport)";

}    // namespace areanet

#endif
