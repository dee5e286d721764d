/* ----------------------------------------------------------------------
   areanet: the checks of what a model file declares (see areanet_spec.h).
------------------------------------------------------------------------- */

#include "areanet_spec.h"

#include <cmath>
#include <sstream>

using namespace areanet;

/* ---------------------------------------------------------------------- */

bool areanet::is_charged(const ModelInfo &info)
{
  for (double q : info.species_charges)
    if (q != 0.0) return true;
  return false;
}

/* ----------------------------------------------------------------------
   format version, units, cutoff, species and the charges of a charged model
------------------------------------------------------------------------- */

std::string areanet::check_model_info(const ModelInfo &info, const std::string &file)
{
  std::ostringstream why;
  why.precision(17);
  if (info.format_version != FORMAT_VERSION && info.format_version != CHARGED_FORMAT_VERSION) {
    why << "model file " << file << " has format version " << info.format_version
        << ", this plugin reads format version " << FORMAT_VERSION << " (and "
        << CHARGED_FORMAT_VERSION << ": a charged model); export the model again with a "
        << "matching `areanet export` or rebuild the plugin";
  } else if (info.units != "metal") {
    why << "model file " << file << " declares units '" << info.units
        << "', pair_style areanet supports only 'metal' (eV, Angstrom)";
  } else if (!(info.cutoff > 0.0)) {
    why << "model file " << file << " declares an invalid cutoff " << info.cutoff;
  } else if (info.species.empty()) {
    why << "model file " << file << " declares no species";
  } else {
    for (double q : info.species_charges)
      if (!std::isfinite(q)) {
        why << "model file " << file << " declares a species charge " << q;
        return why.str();
      }
    const bool charged = is_charged(info);
    if (charged && !(std::isfinite(info.charge_width) && info.charge_width > 0.0))
      why << "model file " << file << " is a charged model with an invalid charge width "
          << info.charge_width
          << " (the Gaussian width of its long-range Coulomb term must be > 0 Angstrom)";
    else if (!charged && info.format_version == CHARGED_FORMAT_VERSION)
      why << "model file " << file << " has format version " << info.format_version
          << " (a charged model, with the long-range sheet Coulomb term) but declares no "
          << "species charges; export it again with `areanet export`";
  }
  return why.str();
}
