"""`areanet export CHECKPOINT -o model.pt [--mliap]`: the model file every host loads.

The export also stores the model's training domain (the range of every network input over
the training data; potential/domain.py) for the LAMMPS plugin's domain guard, computed from
the training data recorded in the checkpoint. An exported model file given instead of a
checkpoint is written again with its domain added (same module, bit-identical numbers).
"""
from __future__ import annotations

from ..errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="write a checkpoint as a TorchScript model file for LAMMPS/ASE",
                              description=__doc__)
    p.add_argument("checkpoint", help="best.pt or last.pt from `areanet train` (or an exported model "
                                      "file, to add its training domain)")
    p.add_argument("-o", "--output", required=True, help="model file to write (e.g. model.pt)")
    p.add_argument("--mliap", metavar="FILE", help="also write the pickle for `pair_style mliap unified FILE 0`")
    p.add_argument("--no-domain", action="store_true",
                   help="do not read the training data for the domain guard's feature ranges")
    p.set_defaults(func=run)


def _is_model_file(path: str) -> bool:
    import zipfile

    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in name for name in archive.namelist())


def _domain(module, train_config, data_hash, train_indices, args):
    from ..fit.domain import training_domain

    if args.no_domain:
        return None
    try:
        domain, note = training_domain(module, train_config, data_hash, train_indices)
    except UserError as err:
        print(f"areanet export: warning: no training domain stored ({err}); the LAMMPS domain "
              "guard will be off for this model (--no-domain silences this)")
        return None
    print(f"training domain: feature ranges over {note}")
    return domain


def run(args) -> int:
    from areanet.potential.export import ModelFileError, export_model, load_model, read_metadata, reexport_model

    from ..fit.checkpoint import load_checkpoint, model_from_checkpoint

    if _is_model_file(args.checkpoint):
        try:
            module, meta = load_model(args.checkpoint), read_metadata(args.checkpoint)
            domain = _domain(module, meta.get("train_config"), meta.get("data_hash"), None, args)
            path = reexport_model(args.checkpoint, args.output, domain)
        except ModelFileError as err:
            raise UserError(str(err)) from None
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB): the module of {args.checkpoint}"
              f"{', with its training domain' if domain is not None else ''}")
        model = None
    else:
        payload = load_checkpoint(args.checkpoint)
        model = model_from_checkpoint(payload)
        if not model.conservative:
            raise UserError(
                f"{args.checkpoint} is a direct-force model: its forces are not −∇E (non-conservative), "
                "so it cannot conserve energy in MD and is not exported; train with forces = \"conservative\""
            )
        metadata = {
            "data_hash": payload.get("data_hash"),
            "n_training_structures": len(payload.get("splits", {}).get("train", [])),
            "epochs": payload.get("epoch", -1) + 1,
            "test_metrics": payload.get("test_metrics", {}),
            "train_config": payload.get("train_config", {}),
        }
        domain = _domain(model.eval(), payload.get("train_config", {}), payload.get("data_hash"),
                         payload.get("splits", {}).get("train"), args)
        path = export_model(model, args.output, metadata, domain)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB): species {model.species}, cutoff {model.cutoff} Å")
    if args.mliap:
        from areanet.potential.mliap import write_mliap

        try:
            write_mliap(path, args.mliap)
        except ModelFileError as err:
            raise UserError(f"--mliap: {err}") from None
        print(f"wrote {args.mliap} for `pair_style mliap unified {args.mliap} 0`")
    return 0
