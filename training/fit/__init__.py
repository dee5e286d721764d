"""Stage 3, fit: from labelled structures to a trained model.

The training config (``config``), the batched dataset of area elements (``dataset``), the
training loop (``train``), checkpoints (``checkpoint``: below both the loop and
prediction) and prediction with a checkpoint or exported model (``predict``). May import
the shared modules, ``data``, ``scoring`` and areanet.potential.
"""
