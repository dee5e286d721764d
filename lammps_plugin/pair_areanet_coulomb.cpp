/* ----------------------------------------------------------------------
   areanet: pair_style areanet/coulomb, the long-range sheet Coulomb term
   of a charged model alone.  See pair_areanet_coulomb.h.
------------------------------------------------------------------------- */

#include "pair_areanet_coulomb.h"

#include "comm.h"
#include "error.h"

#include <atomic>
#include <cstring>

using namespace LAMMPS_NS;

// instances with a charged model loaded, in this process
static std::atomic<int> coulomb_instances(0);

extern "C" int areanet_coulomb_instances()
{
  return coulomb_instances.load();
}

/* ---------------------------------------------------------------------- */

PairAreanetCoulomb::PairAreanetCoulomb(LAMMPS *lmp) : PairAreanet(lmp), counted(false) {}

/* ---------------------------------------------------------------------- */

PairAreanetCoulomb::~PairAreanetCoulomb()
{
  if (counted) coulomb_instances--;
}

/* ---------------------------------------------------------------------- */

void PairAreanetCoulomb::settings(int narg, char **arg)
{
  // the evaluation modes of pair_style areanet concern its network, which is not run here
  for (int iarg = 0; iarg < narg; iarg++)
    if (strcmp(arg[iarg], "float32") == 0 || strcmp(arg[iarg], "float64") == 0 ||
        strcmp(arg[iarg], "torchscript") == 0)
      error->all(FLERR,
                 "Illegal pair_style areanet/coulomb command: '{}' is a mode of the network of "
                 "pair_style areanet, which areanet/coulomb does not run; it takes only "
                 "check_masses yes|no, coulomb auto|direct|mesh, coulomb/accuracy A and "
                 "coulomb/order P",
                 arg[iarg]);
  PairAreanet::settings(narg, arg);
}

/* ----------------------------------------------------------------------
   pair_coeff * * model.pt B N: the model and species map of pair_style
   areanet, which must be a charged model
------------------------------------------------------------------------- */

void PairAreanetCoulomb::coeff(int narg, char **arg)
{
  PairAreanet::coeff(narg, arg);
  if (!coulomb)
    error->all(FLERR,
               "Pair areanet/coulomb: model {} has no species charges, so it has no long-range "
               "sheet Coulomb term to add; run its local part alone (e.g. pair_style mliap "
               "unified FILE 0)",
               model_file);
  if (!counted) {
    coulomb_instances++;
    counted = true;
  }
  if (comm->me == 0)
    utils::logmesg(lmp,
                   "areanet/coulomb: this pair style adds only the long-range sheet Coulomb of {} "
                   "(the model's local part comes from the pair style it is overlaid on)\n",
                   model_file);
}

/* ---------------------------------------------------------------------- */

void PairAreanetCoulomb::init_style()
{
  if (!coulomb) error->all(FLERR, "Pair areanet/coulomb: no model loaded (pair_coeff * * model.pt ...)");
  PairAreanet::init_style();
}

/* ----------------------------------------------------------------------
   only the term of a charged model: PairAreanet::compute_coulomb() for the
   owned atoms (their forces and energies), the global virial once
------------------------------------------------------------------------- */

void PairAreanetCoulomb::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  compute_coulomb();
}
