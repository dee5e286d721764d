"""Shared fixtures of the core tests: h-BN sheets and small models."""
import numpy as np
import pytest
import torch
from ase import Atoms

from areanet.potential import AreaNet, ModelConfig


def hbn_sheet(nx=5, ny=3, a=2.505, perturb=0.0, z_perturb=0.0, strain=None, seed=0, vacuum=12.0):
    """Rectangular h-BN cell (4 atoms, a × √3a) repeated nx × ny, optionally perturbed/strained."""
    b = a / np.sqrt(3)
    basis = np.array([[0, 0, 0], [0, b, 0], [a / 2, 1.5 * b, 0], [a / 2, 2.5 * b, 0]])
    atoms = Atoms("BNBN", positions=basis + [0, 0, vacuum / 2], cell=[a, 3 * b, vacuum], pbc=True)
    atoms = atoms.repeat((nx, ny, 1))
    rng = np.random.default_rng(seed)
    if strain is not None:
        deform = np.eye(3) + np.asarray(strain)
        atoms.set_cell(atoms.cell @ deform.T, scale_atoms=True)
    n = len(atoms)
    atoms.positions[:, :2] += rng.uniform(-perturb * b, perturb * b, (n, 2))
    atoms.positions[:, 2] += rng.uniform(-z_perturb * b, z_perturb * b, n)
    return atoms


def random_model(order="high", dims=3, centers="both", forces="conservative", seed=0, weight_scale=2.0):
    """An untrained model with weights large enough to give a rough, non-trivial surface."""
    torch.manual_seed(seed)
    model = AreaNet(ModelConfig(order=order, dims=dims, centers=centers, forces=forces))
    with torch.no_grad():
        for p in model.mlps.parameters():
            p.mul_(weight_scale)
        model.feature_std.fill_(0.05)
        model.energy_scale.fill_(0.05)
    return model.eval()


@pytest.fixture
def sheet():
    return hbn_sheet


@pytest.fixture(scope="session")
def exported_model(tmp_path_factory):
    from areanet.potential import export_model

    path = tmp_path_factory.mktemp("model") / "random.pt"
    return export_model(random_model(), path, {"note": "untrained test model"})


@pytest.fixture(scope="session")
def plugin():
    """The built LAMMPS plugin (scripts/build_plugin.sh, once per session): the path for `plugin load`."""
    from lammps_helpers import plugin_library

    return plugin_library()
