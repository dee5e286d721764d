"""areanet.training: the pipeline from structures to a validated potential, one folder per stage.

Data flows down the stages; a module imports its own stage and the ones above it only
(tests/test_layout.py checks it):

* the shared modules here: ``errors`` (UserError), ``paths`` (the repository's files),
  ``progress`` (the progress bar), ``lammps_env`` (importing LAMMPS, the plugin library);
* ``data``: structures: read, check, split, fingerprint; the sheet and the protocols that
  perturb it; the reference labellers (classical through LAMMPS, GPAW) and the comparison of
  two labellings;
* ``scoring``: the report's metrics, tables and figures for given predictions;
* ``fit``: training config, dataset, the training loop, checkpoints, prediction;
* ``sampling`` (active learning: MD with an ensemble of fitted models) and ``evaluation``
  (validation against DFT, thermal properties, the report's reproduction, benchmarks), side
  by side;
* ``cli``: the ``areanet`` command, which only parses options and calls the stages.
"""
