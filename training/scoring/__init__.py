"""Stage 2, scoring: how good given predictions are, in the report's terms.

The metrics (``metrics``: RMSE, MAPE, per species and per perturbation strength), the
report's tables and metrics.json/metrics.md (``evaluate``) and its figures (``plots``).
Works on energies and forces already predicted, so it needs no model code: the training
loop scores its test split with it. May import the shared modules and ``data``.
"""
