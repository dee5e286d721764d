"""Γ, M and K frequencies of `areanet validate` from the 12-atom supercell (folded modes sorted
by their Bloch phase), against an independent route: ase.phonons in a 6 × 6 supercell of the
2-atom primitive cell, commensurate with M and K too; both with ExTeP in LAMMPS."""
import numpy as np
import pytest

from areanet.training.data.reference import LammpsReference
from areanet.training.evaluation.validate.phonons_mk import mk_frequencies
from areanet.training.evaluation.validate.physics import MEV_TO_CM1, primitive_cell


def test_mk_frequencies_equal_primitive_supercell(tmp_path):
    from ase.phonons import Phonons

    reference = LammpsReference("extep")
    try:
        a, delta = 2.504, 0.005
        ours = mk_frequencies(reference.calculator(), a, delta, tmp_path / "rect")["frequencies_cm1"]
        ph = Phonons(primitive_cell(a), reference.calculator(), supercell=(6, 6, 1), delta=delta,
                     name=str(tmp_path / "prim"))
        ph.run()
        ph.read(acoustic=True)
    finally:
        reference.close()
    # scaled coordinates of the primitive reciprocal cell (a1, a2 at 60°): M = b1/2, K = (2b1 + b2)/3
    for point, q in (("Γ", [0, 0, 0]), ("M", [0.5, 0, 0]), ("K", [2 / 3, 1 / 3, 0])):
        want = np.sort(ph.band_structure([q], verbose=False)[0] * 1000 * MEV_TO_CM1)
        got = np.asarray(ours[point])
        assert got.shape == (6,)
        assert np.allclose(got, want, rtol=2e-3, atol=1.0), (point, got.round(1), want.round(1))
    # h-BN's own facts: three acoustic zeros at Γ, none at M or K
    assert np.allclose(ours["Γ"][:3], 0.0, atol=1.0) and min(ours["M"]) > 100 and min(ours["K"]) > 100
