"""What every benchmark shares: the machine and its load, the output files (`publish`), tables."""
from __future__ import annotations

import datetime
import importlib.util
import json
import math
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from ...errors import UserError
from ...paths import REPOSITORY


DEFAULT_SIZES = (60, 960, 15360, 61440)
DEFAULT_MODEL = "models/hbn-extep.pt"
# pair styles as `areanet bench md --styles` names them
STYLES = {
    "extep": "extep",
    "areanet": "areanet",  # native C++ evaluation, float64
    "areanet-float32": "areanet float32",
    "areanet-torchscript": "areanet torchscript",
    # a charged model's sheet Coulomb forced onto the mesh / the direct k-sum ("areanet" = auto)
    "areanet-mesh": "areanet coulomb mesh",
    "areanet-direct": "areanet coulomb direct",
}

# The report's 4450-structure ExTeP set, 60 atoms each.
PAPER_SET = {"structures": 4450, "atoms": 60}


# --- helpers ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def load_average() -> list[float] | None:
    try:
        return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return None


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPOSITORY,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def command_line() -> str:
    return "areanet " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["bench"] else \
        "areanet bench " + " ".join(shlex.quote(a) for a in sys.argv[2:])


def header(kind: str) -> dict[str, Any]:
    return {
        "benchmark": kind,
        "command": command_line(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": machine(),
        "load_average_start": load_average(),
    }


def write_outputs(out_dir: Path, name: str, result: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    result["load_average_end"] = load_average()
    js = out_dir / f"{name}.json"
    md = out_dir / f"{name}.md"
    js.write_text(json.dumps(result, indent=1) + "\n")
    md.write_text(markdown)
    return js, md


def publish(args, result: dict[str, Any], text: str) -> int:
    """Write NAME.json + NAME.md under --out and print the Markdown: the end of every bench."""
    js, md = write_outputs(Path(args.out), args.name, result, text)
    print()
    print(text)
    print(f"wrote {js} and {md}")
    return 0


def conditions_text(result: dict[str, Any]) -> str:
    m = result["machine"]
    load = result.get("load_average_start")
    load_end = result.get("load_average_end") or load_average()
    text = f"{m['cpu']}, {m['cores']} cores; {result['date']}"
    if result.get("git_commit"):
        text += f", commit {result['git_commit']}"
    if load:
        text += f"; load average (1 min) {load[0]:.1f} at the start"
        if load_end:
            text += f", {load_end[0]:.1f} at the end"
    return text


def table(rows: list[list[str]], head: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if x == 0:
        return "0"
    mag = abs(x)
    if mag >= 100:
        return f"{x:.0f}"
    return f"{x:.{max(digits - 1 - int(math.floor(math.log10(mag))), 0)}f}"


def resolve_model(path: str) -> Path:
    model = Path(path)
    if not model.is_file() and not model.is_absolute():
        alt = REPOSITORY / path
        if alt.is_file():
            model = alt
    if not model.is_file():
        raise UserError(
            f"model file {path} not found; give an exported model with --model "
            f"(`areanet export RUN/best.pt -o model.pt`)"
        )
    return model.resolve()


def example_module(relative_path: str):
    """A script of examples/ (not a package) imported as a module, for its structure builders."""
    path = REPOSITORY / "examples" / relative_path
    spec = importlib.util.spec_from_file_location("areanet_bench_" + Path(relative_path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_sheet_module():
    return example_module("hbn/make_sheet.py")


def make_layers_module():
    return example_module("layers/make_layers.py")


def venv_tool(name: str) -> str:
    tool = Path(sys.prefix) / "bin" / name
    return str(tool) if tool.exists() else name
