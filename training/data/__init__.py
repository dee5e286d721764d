"""Stage 1, data: everything about structures before a model exists.

Reading, checking, splitting and fingerprinting structure files (``structures``); the
perfect sheet (``sheets``) and the protocols that perturb and strain it (``generate``); exact
LAMMPS data files of any structure (``lammps_data``); the reference labellers: the classical
potentials through LAMMPS (``reference``), GPAW and the common interface (``labellers``),
resumable, parallel labelling of a file (``label``), the frame-by-frame comparison of two
labellings (``compare``) and the wider-domain splits (``splits``).
May import the shared modules of areanet.training only.
"""
