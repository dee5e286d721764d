"""The benchmarks behind ``areanet bench ...``: performance benchmarks that print figures (never timed tests).

    areanet bench md      LAMMPS throughput of pair_style areanet vs extep (same lmp, same sheet,
                          same run), 1 and 2 MPI ranks, peak memory; JSON + Markdown
    areanet bench nve     NVE energy drift (960 atoms from 300 K, dt 1 fs; issue 3's protocol)
    areanet bench precision  native float64 and float32 against the TorchScript model
    areanet bench python  ASE calculator throughput (AreaNetCalculator)
    areanet bench train   training time per epoch and structures/s on the paper-size set

Every subcommand writes ``OUT/<name>.json`` and ``OUT/<name>.md`` (default ``benchmarks/``)
holding the command line, the machine and its load, and the numbers. Times are wall clock
(what a user waits for) and CPU time where the machine is shared: CPU time is what a busy
machine distorts least, so the ratios between styles are computed from both.
"""
