"""Stage 4, evaluation: studies of fitted models.

Validation against DFT and physics (``validate``: accuracy, equation of state and
elasticity, phonons, MD), the report's study end to end (``reproduce``) and performance
benchmarks (``bench``: one module per family sharing ``common.publish``). May import the
shared modules, ``data``, ``scoring``, ``fit`` and areanet.potential; not ``sampling`` (its
neighbour at the same level) nor ``cli``.
"""
