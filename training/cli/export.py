"""`areanet export CHECKPOINT -o model.pt [--mliap]`: the model file every host loads."""
from __future__ import annotations

from ..errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="write a checkpoint as a TorchScript model file for LAMMPS/ASE",
                              description=__doc__)
    p.add_argument("checkpoint", help="best.pt or last.pt from `areanet train`")
    p.add_argument("-o", "--output", required=True, help="model file to write (e.g. model.pt)")
    p.add_argument("--mliap", metavar="FILE", help="also write the pickle for `pair_style mliap unified FILE 0`")
    p.set_defaults(func=run)


def run(args) -> int:
    from areanet.potential.export import export_model

    from ..fit.checkpoint import load_checkpoint, model_from_checkpoint

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
    path = export_model(model, args.output, metadata)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB): species {model.species}, cutoff {model.cutoff} Å")
    if args.mliap:
        from areanet.potential.export import ModelFileError
        from areanet.potential.mliap import write_mliap

        try:
            write_mliap(path, args.mliap)
        except ModelFileError as err:
            raise UserError(f"--mliap: {err}") from None
        print(f"wrote {args.mliap} for `pair_style mliap unified {args.mliap} 0`")
    return 0
