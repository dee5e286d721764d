/* ----------------------------------------------------------------------
   areanet: area-element neural-network potential for h-BN.
   Which element a mass belongs to: the check of the species map of
   pair_coeff (LAMMPS knows atoms by type and mass, the model by species).

   A type's mass fits the species it is mapped to when, of the elements
   below, the one whose standard atomic weight is nearest to the mass is
   that species: isotopes pass (10B 10.013 and 11B 11.009 are nearest to
   B, 15N 15.000 to N), boron's mass mapped to N does not.  Species without
   a tabulated weight are not checked.  `pair_style areanet check_masses no`
   turns the check off for deliberately other masses.

   The table and the rule must agree with potential/species.py (the Python
   hosts'; tests/test_silent_numbers.py compares the two tables).  Plain
   C++17, header only.
------------------------------------------------------------------------- */

#ifndef AREANET_ELEMENTS_H
#define AREANET_ELEMENTS_H

#include <cmath>
#include <cstdio>
#include <string>

namespace areanet {

struct Element {
  const char *symbol;
  double weight;    // standard atomic weight (IUPAC 2021, conventional), g/mol
};

// hydrogen to krypton
constexpr Element ELEMENTS[] = {
    {"H", 1.008}, {"He", 4.0026}, {"Li", 6.94}, {"Be", 9.0122}, {"B", 10.81}, {"C", 12.011},
    {"N", 14.007}, {"O", 15.999}, {"F", 18.998}, {"Ne", 20.18}, {"Na", 22.99}, {"Mg", 24.305},
    {"Al", 26.982}, {"Si", 28.085}, {"P", 30.974}, {"S", 32.06}, {"Cl", 35.45}, {"Ar", 39.95},
    {"K", 39.098}, {"Ca", 40.078}, {"Sc", 44.956}, {"Ti", 47.867}, {"V", 50.942}, {"Cr", 51.996},
    {"Mn", 54.938}, {"Fe", 55.845}, {"Co", 58.933}, {"Ni", 58.693}, {"Cu", 63.546}, {"Zn", 65.38},
    {"Ga", 69.723}, {"Ge", 72.63}, {"As", 74.922}, {"Se", 78.971}, {"Br", 79.904}, {"Kr", 83.798},
};

// Empty if `mass` fits `species` by the rule above (or the species has no tabulated weight),
// else the reason, e.g. "mass 10.811 is nearest to B (10.81), not to N (14.007)".
inline std::string mass_mismatch(const std::string &species, double mass)
{
  const Element *own = nullptr, *nearest = nullptr;
  for (const auto &e : ELEMENTS) {
    if (species == e.symbol) own = &e;
    if (!nearest || std::fabs(e.weight - mass) < std::fabs(nearest->weight - mass)) nearest = &e;
  }
  if (!own || own == nearest) return std::string();
  char text[160];
  std::snprintf(text, sizeof(text), "mass %g is nearest to %s (%g), not to %s (%g)", mass,
                nearest->symbol, nearest->weight, own->symbol, own->weight);
  return text;
}

}    // namespace areanet

#endif
