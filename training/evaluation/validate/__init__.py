"""Validation behind ``areanet validate MODEL --out DIR``: is the potential physically right, not only accurate?

    areanet validate MODEL --out DIR [--dft-data FILE ...] [--test-data FILE ...]
                     [--extrap-data FILE] [--dft-reference JSON] [--compute-dft] [--quick]

Writes ``DIR/validation.md``, ``DIR/validation.json`` and the figures:

(a) **Accuracy** -- the paper's tables on the DFT test split (the split stored in a training
    checkpoint; for an exported model the split is rebuilt from its training config and
    checked against its data hash, or ``--test-data`` is used) and on the extrapolation
    points, with the RMSE-vs-strength curve (``strength.png``, ``parity.png``).
(b) **Equation of state** -- energy per atom of the perfect sheet under biaxial strain, the
    model against GPAW at the settings of ``data/`` (``eos.png``): equilibrium lattice
    constant a0 and 2D bulk modulus B = A d²E/dA² (per-atom area A = √3 a²/4, so at the
    minimum B = E''(a)/√3 with E per atom), from the same cubic fit on both curves.
(c) **Phonons** -- the dispersion along Γ-M-K-Γ from the model (``ase.phonons.Phonons``,
    ``phonons.png``) and the Γ-point optical frequencies against GPAW finite differences.
(d) **NVE drift** -- velocity Verlet with the model (``nve.png``).
(e) **Radial distribution function** at 300 K (Langevin, ``rdf.png``).
(f) **Elasticity** -- the 2D elastic constants C11, C12, C66 and the layer modulus from
    relaxed-ion strain energies, and uniaxial stress-strain curves along zigzag and armchair
    to 10 % (``stress_strain.png``), against GPAW's (``elastic.py``).
(g) **Thermal expansion** -- the in-plane lattice constant from NPT MD in LAMMPS at 300–1000 K
    (``examples/hbn/in.npt``) and the expansion coefficient, with LAMMPS' own ``extep`` by the
    same input beside it (``expansion.png``, ``evaluation/thermal/expansion.py``; alone: ``areanet thermal expansion``).

The DFT numbers come from ``validation/dft_reference.json`` (committed), so validating needs
no GPAW; ``--compute-dft`` recomputes them with ``areanet data label``'s GPAW labeller
(``areanet.training.data.labellers``), resuming a partial file point by point.

How the DFT reference is made cheap but equal to the training data. The training data are
60-atom cells (5 × 3 rectangular 4-atom cells) at the Γ point with h = 0.15 Å, which GPAW
turns into an 84 × 88 × 80 grid. Γ of the 60-atom cell samples exactly the k-points of a
Γ-centred 5 × 3 mesh of the 4-atom cell, and a 17 × 29 × 80 grid on the 4-atom cell has
the same spacing (0.148, 0.150, 0.150 Å). With both, the 4-atom cell reproduces the 60-atom
energy (−8.60919 vs −8.60925 eV/atom at a = 2.5198 Å: 0.06 meV/atom, inside the grid
noise) in a tenth of the time. Symmetry is GPAW's default here (the structure's own point
group + time reversal): fewer k-points, the same physics.

Γ-point force constants. A displacement u of atom 0 of the 4-atom cell (with the k-mesh: of
that atom in every 4-atom cell) gives forces whose sum over the B atoms is −Φ_Γ(B,B)·u and
over the N atoms −Φ_Γ(N,B)·u = +Φ_Γ(B,B)·u (acoustic sum rule). By the D3h symmetry the Γ
block is k∥·1 in-plane and k⊥ out of plane, and the optical frequencies are
ω = √(k (1/m_B + 1/m_N)): E' (in-plane, doubly degenerate; no LO-TO splitting, as in any
supercell calculation without Born charges) and A2'' (ZO). One diagonal displacement
±(δx, 0, δz) gives both constants by central differences (the in-plane and out-of-plane
blocks do not mix at Γ by the mirror symmetry of the sheet). δ is half the grid spacing in
each direction: the ± positions then differ by one grid vector, so the displaced atom's
egg-box force (periodic in the grid) cancels exactly. The model is evaluated on exactly the
same displaced configurations (the 4-atom cell repeated 5 × 3), so the comparison is free
of finite-difference and anharmonic bias; the model's harmonic Γ values from the dispersion
are reported next to them.

Modules: ``physics`` (cells, DFT settings, the fits the sections share), ``dft`` (the cached
GPAW reference), one per section -- ``accuracy`` (a), ``eos`` (b), ``phonons`` (c), ``md``
(d, e), ``comparison`` (f, ``--compare``) -- and ``report`` (the run and validation.md).
May import the shared modules, ``data``, ``scoring`` and ``fit``.
"""
