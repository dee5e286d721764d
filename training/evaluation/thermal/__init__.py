"""Thermal transport of h-BN from a model: Green–Kubo (LAMMPS) and the phonon BTE (phono3py).

    green_kubo   independent LAMMPS runs of examples/thermal/in.green_kubo (heat current from
                 compute heat/flux with compute centroid/stress/atom), κ_xx, κ_yy with a
                 standard error over the runs, the running integral plotted
    expansion    the in-plane lattice constant from NPT MD (LAMMPS) at 300–1000 K and the
                 thermal expansion coefficient, with LAMMPS' own extep by the same runs
    bte          second- and third-order force constants through an ASE calculator
                 (AreaNetCalculator, or LAMMPS' ExTeP), κ from phono3py's BTE solution

Part of the evaluation stage: imports the shared modules of training/, ``data`` and
``scoring`` (its figure helper), the benchmark helpers of ``bench.common`` beside it (the venv's
tools, the examples' sheet builder, the report header) and areanet.potential (matplotlib and
phono3py lazily, when figures are drawn or the BTE is solved).
"""
