"""Stage 4, sampling (active learning): MD with an ensemble of fitted models, keeping the
snapshots the models disagree on most as candidates for labelling (``sample``).

May import the shared modules, ``data``, ``scoring``, ``fit`` and areanet.potential; not
``evaluation`` (its neighbour at the same level) nor ``cli``.
"""
