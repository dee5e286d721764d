"""areanet.potential: the area-element model, its TorchScript contract and the ASE calculator."""
