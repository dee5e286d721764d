"""areanet.training: data, training, evaluation and the `areanet` command line."""
