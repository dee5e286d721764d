"""`areanet reproduce`: the report's study end to end, beside the report's own numbers.

    areanet reproduce --reference extep|tersoff --out DIR [--quick] [--seeds 3] [--epochs N]
                      [--resume]

What it does (the report, sections II-III and Appendix A):

1. **Data**: freshly generated reference data of the report's size and protocol -- 4450
   perturbed 60-atom cells, 1-5 % in 0.2 % steps (``areanet data generate``), labelled with
   ExTeP or Tersoff (not DFT: the absolute numbers are not the report's, the comparison is
   of trends and ratios) -- plus the extrapolation set (0 %, 0.5 %, 5.5 ... 7.5 %).
2. **Models**: the report's four -- low vs high order x N- vs B-centred, with its direct
   force head (net force on the centre atom as an output), LeakyReLU, in-plane inputs
   (dims = 2: 12 / 24 inputs), 50 epochs -- and our conservative high-order model
   (both species centred, F = -dE/dR, SiLU). Each is trained on a random 80/10/10 split
   once per seed (3 by default; the seed sets the split, the initial weights and the batch
   order) and the report's tables are the mean +- standard deviation over seeds.
3. **Extrapolation** (report Fig. 5-7): every model is evaluated on its test split
   (1-5 %) plus the extrapolation set; errors per strength are averaged over seeds.
4. ``DIR/report.md`` with Table I/II/III-style tables (ours beside the report's), the
   extrapolation tables and figures, parity plots, and the wall time of every run;
   ``DIR/results.json`` with the same numbers.

Layout of DIR: ``data/`` (the two data sets), ``runs/<model>-s<seed>/`` (one ``areanet
train`` run each, plus ``extrap/``), ``figures/``, ``reproduce.json`` (the settings),
``report.md``, ``results.json``. A run whose ``summary.json`` exists is finished and
skipped, so running the command again after an interruption carries on with the next
run; ``--resume`` also continues a half-trained run from its ``last.pt``.

At the start the command times a few training steps of every model on a small sample and
prints the estimated duration of this invocation and of the full study.

Modules: ``paper`` (the report's models and numbers, the settings), ``timing`` (the
estimate), ``report`` (report.md and the figures) and ``study`` (the runs), in that order
of imports.
"""
# The study's entry point and what its report is compared with, for callers and tests.
from .paper import MODELS, PAPER, TABLE_I_ROWS, TABLE_II_ROWS
from .study import reproduce

__all__ = ["MODELS", "PAPER", "TABLE_I_ROWS", "TABLE_II_ROWS", "reproduce"]
