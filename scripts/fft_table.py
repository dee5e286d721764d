"""Rewrite the FFT-relabel table of data/README.md from the files (between the fft-table markers).

    .venv/bin/python scripts/fft_table.py          # after copying new labels into data/fft/

One row per file of data/fft/: frames relabelled of the FD file's count, the energy offset
E_FFT - E_FD of orthogonal and of sheared cells (mean and range, meV/atom), the force difference
and the data hash. `tests/test_data_wider_domain.py` checks the table against the files.
"""
from __future__ import annotations

import re
from pathlib import Path

from areanet.training.data.compare import compare_labels, summarise
from areanet.training.data.label import source_key
from areanet.training.data.structures import data_hash, read_structures

DATA = Path(__file__).resolve().parents[1] / "data"
ORDER = ["inplane", "3d", "3d_extra", "strain", "md_hot", "extrap", "md"]


def _offsets(rows: list[dict], sheared: bool) -> str:
    de = [1e3 * r["de_per_atom"] for r in rows if (abs(r["shear_cos"]) > 1e-9) == sheared]
    return f"{sum(de) / len(de):.3f} ({min(de):.3f} … {max(de):.3f})" if de else "–"


def row(name: str) -> str:
    old = read_structures(DATA / name)
    new = read_structures(DATA / "fft" / name)
    keys = {source_key(a) for a in old}
    rows = compare_labels(old, [f for f in new if source_key(f) in keys])
    extra = len(new) - len(rows)
    if name == "hbn_pbe_strain.extxyz.gz":  # the strain set goes on beyond its FD frames
        done = f"{len(rows)} of {len(old)} FD (then new candidates)"
        if extra:
            done = f"{len(rows)} of {len(old)} FD + {extra} new candidates"
    else:
        done = f"{len(new)} of {len(old)}"
    summary = summarise(rows)
    return (f"| `{name}` | {done} | {_offsets(rows, False)} | {_offsets(rows, True)} | "
            f"{summary['df_rms']:.4f} / {summary['df_max']:.4f} | `{data_hash(new)}` |")


def main() -> None:
    readme = DATA / "README.md"
    text = readme.read_text()
    head, rest = text.split("<!-- fft-table", 1)
    marker, rest = rest.split("\n", 1)
    _, tail = rest.split("<!-- /fft-table -->", 1)
    names = sorted((p.name for p in (DATA / "fft").glob("*.extxyz.gz")),
                   key=lambda n: ORDER.index(re.sub(r"^hbn_pbe_|\.extxyz\.gz$", "", n)))
    table = ["| file | frames relabelled | E_FFT − E_FD, orthogonal cells: mean (range), meV/atom "
             "| sheared cells | force difference RMS / max (eV/Å) | data hash |",
             "|---|---|---|---|---|---|"] + [row(n) for n in names]
    readme.write_text(head + "<!-- fft-table" + marker + "\n" + "\n".join(table) + "\n"
                      "<!-- /fft-table -->" + tail)
    print("\n".join(table))


if __name__ == "__main__":
    main()
