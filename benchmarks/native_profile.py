"""Group `perf report` samples of a `pair_style areanet` run by what the cycles do
(benchmarks/native-profile.md):  python benchmarks/native_profile.py perf.data [...]"""
import re, subprocess, sys
cats = [("MLP products (GEMM tiles, forward incl. fused activation, backward)", r"gemm"),
        ("activations (separate pass)", r"activate_kind"),
        ("MLP glue (paired first layer combine/activation, output layer)", r"mlp_paired|mlp_middle"),
        ("features: frame geometry, coordinates, standardisation", r"run_block|frame_geometry|frame_features|element_normal"),
        ("backward through the frame geometry", r"Impl::backward"),
        ("shell finder, ring topology (NativeModel::compute)", r"NativeModel::compute"),
        ("pair style: edges, forces, virial; sheet check", r"PairAreanet|first_shell_planes|find_off_plane|check_sheets|Comm"),
        ("LAMMPS neighbour build", r"NPair|NBin|Neighbor"),
        ("LAMMPS integrator and rest", r"LAMMPS_NS"),
]
for f in sys.argv[1:]:
    out = subprocess.run(["perf", "report", "-i", f, "--no-children", "--sort", "symbol", "-g", "none", "--stdio"],
                         capture_output=True, text=True).stdout
    tot = {c[0]: 0.0 for c in cats}; other = 0.0
    for line in out.splitlines():
        m = re.match(r"\s*([0-9.]+)%\s+\[(.)\]\s+(.*)", line)
        if not m: continue
        p, sym = float(m.group(1)), m.group(3)
        for name, rx in cats:
            if re.search(rx, sym): tot[name] += p; break
        else: other += p
    print(f"== {f}")
    for name, _ in cats: print(f"| {name} | {tot[name]:.1f} % |")
    print(f"| other (Python start-up, kernel, libc) | {other:.1f} % |")
