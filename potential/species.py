"""Which element a mass belongs to: the check of a LAMMPS species map.

LAMMPS knows atoms by type number and mass, the model by species name, and `pair_coeff * *
model.pt B N` links the two in type order. A swapped list (`N B` on a data file whose type 1
is boron) would run and give wrong forces and pressure, so the hosts that take a type map
(pair_style areanet, ML-IAP) check every type's mass with one rule:

    a type's mass fits the species it is mapped to when, of the elements below, the one
    whose standard atomic weight is nearest to the mass is that species.

Isotopes pass (¹⁰B 10.013 and ¹¹B 11.009 are nearest to B, ¹⁵N 15.000 to N); boron's mass
mapped to N does not. Deliberately other masses (heavier atoms for a longer time step) need
the host's override: `pair_style areanet check_masses no`.

The same table and rule are in the LAMMPS plugin (lammps_plugin/areanet_elements.h); the two
must agree (tests/test_silent_numbers.py compares them).
"""
from __future__ import annotations

# Standard atomic weights (IUPAC 2021, conventional/abridged values), hydrogen to krypton.
ATOMIC_WEIGHTS = {
    "H": 1.008, "He": 4.0026, "Li": 6.94, "Be": 9.0122, "B": 10.81, "C": 12.011, "N": 14.007,
    "O": 15.999, "F": 18.998, "Ne": 20.180, "Na": 22.990, "Mg": 24.305, "Al": 26.982,
    "Si": 28.085, "P": 30.974, "S": 32.06, "Cl": 35.45, "Ar": 39.95, "K": 39.098, "Ca": 40.078,
    "Sc": 44.956, "Ti": 47.867, "V": 50.942, "Cr": 51.996, "Mn": 54.938, "Fe": 55.845,
    "Co": 58.933, "Ni": 58.693, "Cu": 63.546, "Zn": 65.38, "Ga": 69.723, "Ge": 72.630,
    "As": 74.922, "Se": 78.971, "Br": 79.904, "Kr": 83.798,
}


def nearest_element(mass: float) -> str:
    """The element of ATOMIC_WEIGHTS whose weight is nearest to ``mass`` (g/mol)."""
    return min(ATOMIC_WEIGHTS, key=lambda symbol: abs(ATOMIC_WEIGHTS[symbol] - mass))


def mass_mismatch(species: str, mass: float) -> str | None:
    """None when ``mass`` fits ``species`` by the rule above (or the species has no tabulated
    weight, so there is nothing to check), else the reason, e.g. "mass 10.811 is nearest to
    B (10.81), not to N (14.007)"."""
    if species not in ATOMIC_WEIGHTS:
        return None
    nearest = nearest_element(mass)
    if nearest == species:
        return None
    return (f"mass {mass:g} is nearest to {nearest} ({ATOMIC_WEIGHTS[nearest]:g}), not to "
            f"{species} ({ATOMIC_WEIGHTS[species]:g})")
