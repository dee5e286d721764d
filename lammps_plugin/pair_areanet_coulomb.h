/* -*- c++ -*- ----------------------------------------------------------
   areanet: the long-range sheet Coulomb term of a charged areanet model,
   alone, as a pair style to overlay on a pair style that computes the
   model's local part -- in practice `pair_style mliap unified`, whose
   Python interface only sees pair vectors inside the cutoff:

   pair_style hybrid/overlay mliap unified hbn-pbe.mliap.pkl 0 areanet/coulomb
   pair_coeff * * mliap B N
   pair_coeff * * areanet/coulomb models/hbn-pbe.pt B N

   The model file, its checks, the atom type -> species map (with the mass
   check of pair_style areanet) and the term itself are those of pair_style
   areanet (pair_areanet.h, areanet_coulomb.h): E, e_i, F_i and the global
   virial of

     E = (k_e/A) sum_k w(k) |S(k)|^2 - k_e sqrt(pi/2)/(2 sigma) sum_i q_i^2

   so mliap unified + areanet/coulomb equals pair_style areanet term for
   term.  The model's network is not evaluated here (its weights are
   released after pair_coeff); a model without charges is refused (there is
   nothing to add: use the local pair style alone).  The number of
   instances with a model loaded is visible to the ML-IAP Python model
   (potential/mliap.py) through areanet_coulomb_instances(), so that the
   local part of a charged model does not run without its long-range term.
------------------------------------------------------------------------- */

#ifndef LMP_PAIR_AREANET_COULOMB_H
#define LMP_PAIR_AREANET_COULOMB_H

#include "pair_areanet.h"

extern "C" int areanet_coulomb_instances();

namespace LAMMPS_NS {

class PairAreanetCoulomb : public PairAreanet {
 public:
  PairAreanetCoulomb(class LAMMPS *);
  ~PairAreanetCoulomb() override;

  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;

 private:
  bool counted;    // this instance is in areanet_coulomb_instances()
};

}    // namespace LAMMPS_NS

#endif
