"""Area elements: the shell finder and the invariant local frames (README, "The method in one paragraph").

For a centre atom O the high-order element holds 12 vertices, chosen by rank within species:

* first shell: the 3 nearest atoms of the other species (A, E, I);
* second shell: the 6 nearest atoms of O's own species, two bonded to each first-shell atom;
* third shell: the next 3 atoms of the other species, one per hexagon around O (C, G, K).

The shell finder stores them in 12 *canonical slots* that depend only on the geometry:

=====  ==============================================================================
slots  content
=====  ==============================================================================
0-2    first-shell atoms f0, f1, f2; n ∝ f0×f1 + f1×f2 + f2×f0, so f0→f1→f2 turns
       counter-clockwise about n
3-5    the child of f_k on the +n side ((f_k × c)·n > 0), i.e. towards f_(k+1)
6-8    the child of f_k on the −n side, towards f_(k−1)
9-11   the third-shell atom of the ring between f0-f1, f1-f2, f2-f0
=====  ==============================================================================

A *frame* picks a reference first-shell atom k (x̂ = its direction in the plane ⊥ n),
a sign of ŷ (s_y = −1 reverses the sense of rotation and with it the ring order) and, in
3D, a sign of ẑ. Each frame lists the 12 vertices in the paper's order A…L (Fig. 2: A, its
child B towards E, the para atom C, E's child D, E, …). Averaging the network over all
frames makes the sub-energy invariant under rotations, permutations of equal atoms and
mirrors: 6 frames in 2D, 12 in 3D (6 frames cover the proper rotations only: a mirror
through the sheet maps z → −z with the same labels, so 3D needs both z signs).
"""

from typing import List, Tuple

import torch

# --- frame tables ---------------------------------------------------------------------------


def _paper_order(k0: int, clockwise: bool) -> List[int]:
    """Canonical slots of vertices A…L for reference k0 and a sense of rotation."""
    step = 2 if clockwise else 1  # next first-shell atom in the frame's sense of rotation
    k1, k2 = (k0 + step) % 3, (k0 + 2 * step) % 3
    towards_next = 6 if clockwise else 3  # child slot offset pointing to the next atom
    towards_prev = 3 if clockwise else 6

    def ring(p: int, q: int) -> int:  # slot of the third-shell atom between f_p and f_q
        return 9 + (p if (q - p) % 3 == 1 else q)

    return [
        k0, towards_next + k0, ring(k0, k1), towards_prev + k1,
        k1, towards_next + k1, ring(k1, k2), towards_prev + k2,
        k2, towards_next + k2, ring(k2, k0), towards_prev + k0,
    ]


def frame_tables(dims: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(reference k [F], sign of y [F], sign of z [F], vertex order [F, 12]) for all frames."""
    z_signs = [1.0] if dims == 2 else [1.0, -1.0]
    refs, sy, sz, order = [], [], [], []
    for s_z in z_signs:
        for s_y in (1.0, -1.0):
            for k in range(3):
                refs.append(k)
                sy.append(s_y)
                sz.append(s_z)
                order.append(_paper_order(k, clockwise=s_y < 0))
    return (
        torch.tensor(refs, dtype=torch.long),
        torch.tensor(sy, dtype=torch.float64),
        torch.tensor(sz, dtype=torch.float64),
        torch.tensor(order, dtype=torch.long),
    )


def low_order_matrix() -> torch.Tensor:
    """[6, 12]: A, E, I and the ring centroids X, Y, Z (mean of O and five ring atoms, O = 0)."""
    m = torch.zeros(6, 12, dtype=torch.float64)
    m[0, 0] = m[1, 4] = m[2, 8] = 1.0
    for row, first in ((3, 0), (4, 4), (5, 8)):  # ring A-B-C-D-E, E-F-G-H-I, I-J-K-L-A
        for v in range(5):
            m[row, (first + v) % 12] = 1.0 / 6.0
    return m


# --- shell finder ---------------------------------------------------------------------------


def rank_neighbours(
    distance: torch.Tensor,  # [E]
    edge_src: torch.Tensor,  # [E]
    same_species: torch.Tensor,  # [E] int64, 1 if j has the centre's species
    n_atoms: int,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sort edges by (centre, same species, distance).

    Returns (order [E], rank of each sorted edge within its group [E], count per group [2n])
    where group = 2·centre + same_species.
    """
    by_distance = torch.argsort(distance)  # [E]
    group = edge_src * 2 + same_species  # [E]
    order = by_distance[torch.sort(group[by_distance], stable=True)[1]]  # [E]
    counts = torch.bincount(group, minlength=2 * n_atoms)  # [2n]
    starts = torch.cumsum(counts, 0) - counts  # [2n]
    rank = torch.arange(order.shape[0], device=order.device) - starts[group[order]]  # [E]
    return order, rank, counts


def counts_text(counts: torch.Tensor) -> str:
    return "[" + ", ".join([str(int(counts[k])) for k in range(counts.shape[0])]) + "]"


def first_bad(bad: torch.Tensor) -> int:
    return int(torch.nonzero(bad)[0, 0])


def find_element_slots(
    edge_vec: torch.Tensor,  # [E, 3], no grad needed
    edge_src: torch.Tensor,  # [E]
    edge_spec: torch.Tensor,  # [E]
    spec: torch.Tensor,  # [n]
    centres: torch.Tensor,  # [m] indices of the atoms that carry an element
    species: List[str],
    cutoff: float,
) -> torch.Tensor:
    """Edge index of each of the 12 canonical slots for every centre: [m, 12].

    Raises RuntimeError naming the centre index when an element is incomplete or its shells
    cannot be told apart.
    """
    n = spec.shape[0]
    m = centres.shape[0]
    distance = torch.linalg.norm(edge_vec, dim=1)  # [E]
    same = (edge_spec == spec[edge_src]).to(torch.long)  # [E]
    order, rank, counts = rank_neighbours(distance, edge_src, same, n)
    n_other = counts[0::2][centres]  # [m]
    n_same = counts[1::2][centres]  # [m]
    incomplete = (n_other < 6) | (n_same < 6)  # [m]
    if bool(incomplete.any()):
        c = first_bad(incomplete)
        i = int(centres[c])
        own = species[int(spec[i])]
        raise RuntimeError(
            "areanet: no complete area element at centre index {} ({}): found {} other-species "
            "and {} same-species neighbours within the {} A cutoff; an element needs 6 of the "
            "other species (3 first + 3 third shell) and 6 of its own (second shell). "
            "Vacancy, edge, isolated atom, wrong species map or too much distortion?".format(
                i, own, int(n_other[c]), int(n_same[c]), cutoff
            )
        )

    # Map atom index -> position among centres (-1 for atoms that carry no element).
    centre_pos = torch.full([n], -1, dtype=torch.long, device=spec.device)  # [n]
    centre_pos[centres] = torch.arange(m, device=spec.device)
    src_sorted = edge_src[order]  # [E]
    same_sorted = same[order]  # [E]
    # Provisional slots: first shell 0-2, second shell 3-8 by distance, third shell 9-11.
    slot = torch.where(
        same_sorted == 1,
        torch.where(rank < 6, 3 + rank, torch.full_like(rank, -1)),
        torch.where(rank < 6, torch.where(rank < 3, rank, 6 + rank), torch.full_like(rank, -1)),
    )  # [E]
    keep = (slot >= 0) & (centre_pos[src_sorted] >= 0)
    provisional = torch.zeros([m, 12], dtype=torch.long, device=spec.device)  # [m, 12]
    provisional[centre_pos[src_sorted[keep]], slot[keep]] = order[keep]

    vec = edge_vec[provisional]  # [m, 12, 3]
    first = vec[:, 0:3]  # [m, 3, 3]
    second = vec[:, 3:9]  # [m, 6, 3]
    third = vec[:, 9:12]  # [m, 3, 3]
    normal = element_normal(first)  # [m, 3]

    # Second shell: parent = nearest first-shell atom; side of the parent by the sign about n.
    gap = torch.linalg.norm(second[:, :, None, :] - first[:, None, :, :], dim=-1)  # [m, 6, 3]
    parent = torch.argmin(gap, dim=2)  # [m, 6]
    parent_vec = torch.gather(first, 1, parent[:, :, None].expand(m, 6, 3))  # [m, 6, 3]
    plus_side = (torch.linalg.cross(parent_vec, second) * normal[:, None, :]).sum(-1) > 0  # [m, 6]
    child_slot = torch.where(plus_side, 3 + parent, 6 + parent)  # [m, 6]
    filled = torch.zeros([m, 6], dtype=torch.long, device=spec.device)
    filled.scatter_add_(1, child_slot - 3, torch.ones_like(child_slot))
    bad_second = (filled != 1).any(dim=1)  # [m]
    if bool(bad_second.any()):
        c = first_bad(bad_second)
        raise RuntimeError(
            "areanet: no complete area element at centre index {} ({}): the 6 second-shell "
            "atoms do not pair up as two per first-shell atom, one on each side (children "
            "per first-shell atom and side: {}); the shells overlap".format(
                int(centres[c]), species[int(spec[centres[c]])], counts_text(filled[c])
            )
        )

    # Third shell: the ring whose bisector f_p + f_q is closest in angle.
    bisector = first + torch.roll(first, -1, dims=1)  # [m, 3, 3] ring (0,1), (1,2), (2,0)
    cosine = torch.einsum("mtc,mrc->mtr", third, bisector) / (
        torch.linalg.norm(third, dim=-1)[:, :, None] * torch.linalg.norm(bisector, dim=-1)[:, None, :]
    )  # [m, 3, 3]
    ring = torch.argmax(cosine, dim=2)  # [m, 3]
    per_ring = torch.zeros([m, 3], dtype=torch.long, device=spec.device)
    per_ring.scatter_add_(1, ring, torch.ones_like(ring))
    bad_third = (per_ring != 1).any(dim=1)  # [m]
    if bool(bad_third.any()):
        c = first_bad(bad_third)
        raise RuntimeError(
            "areanet: no complete area element at centre index {} ({}): the 3 third-shell "
            "atoms do not fall one per hexagon (atoms per ring: {}); the shells overlap".format(
                int(centres[c]), species[int(spec[centres[c]])], counts_text(per_ring[c])
            )
        )

    slots = torch.zeros([m, 12], dtype=torch.long, device=spec.device)  # [m, 12]
    slots[:, 0:3] = provisional[:, 0:3]
    slots.scatter_(1, child_slot, provisional[:, 3:9])
    slots.scatter_(1, 9 + ring, provisional[:, 9:12])
    return slots


# --- frames and features --------------------------------------------------------------------


def element_normal(first: torch.Tensor) -> torch.Tensor:
    """Unit normal of the first-shell triangle, [m, 3] from [m, 3, 3]."""
    a, e, i = first[:, 0], first[:, 1], first[:, 2]
    n = torch.linalg.cross(a, e) + torch.linalg.cross(e, i) + torch.linalg.cross(i, a)  # [m, 3]
    return n / torch.linalg.norm(n, dim=1, keepdim=True)


def frame_axes(vertices: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Axes of the frames with s_y = s_z = +1 for each reference k.

    Returns (x̂ [m, 3(k), 3], ŷ = n × x̂ [m, 3(k), 3], n [m, 3]) from vertices [m, 12, 3].
    """
    m = vertices.shape[0]
    first = vertices[:, 0:3]  # [m, 3, 3]
    normal = element_normal(first)  # [m, 3]
    in_plane = first - (first * normal[:, None, :]).sum(-1, keepdim=True) * normal[:, None, :]
    x_axis = in_plane / torch.linalg.norm(in_plane, dim=-1, keepdim=True)  # [m, 3, 3]
    y_axis = torch.linalg.cross(normal[:, None, :].expand(m, 3, 3), x_axis)  # [m, 3, 3]
    return x_axis, y_axis, normal


def base_coordinates(vertices: torch.Tensor) -> torch.Tensor:
    """Every vertex's coordinates along the 7 axes x̂_0, x̂_1, x̂_2, ŷ_0, ŷ_1, ŷ_2, n of
    frame_axes: [m, 7, 12] from vertices [m, 12, 3]. Each frame's coordinates are a signed
    selection of these (frames_from_base)."""
    x_axis, y_axis, normal = frame_axes(vertices)
    axes = torch.cat([x_axis, y_axis, normal[:, None, :]], dim=1)  # [m, 7, 3]
    return torch.einsum("mvc,mac->mav", vertices, axes)  # [m, 7, 12]


def frames_from_base(
    base: torch.Tensor,  # [m, 7, 12] from base_coordinates
    frame_ref: torch.Tensor,  # [F]
    frame_sy: torch.Tensor,  # [F]
    frame_sz: torch.Tensor,  # [F]
    frame_order: torch.Tensor,  # [F, 12]
    dims: int,
) -> torch.Tensor:
    """Vertex coordinates in every frame, listed A…L: [m, F, 12, dims] (linear in base)."""
    m = base.shape[0]
    n_frames = frame_order.shape[0]
    order = frame_order[None].expand(m, n_frames, 12)  # [m, F, 12]
    xf = torch.gather(base[:, frame_ref], 2, order)  # [m, F, 12]
    yf = torch.gather(base[:, 3 + frame_ref], 2, order) * frame_sy[None, :, None]  # [m, F, 12]
    if dims == 2:
        return torch.stack([xf, yf], dim=-1)  # [m, F, 12, 2]
    zf = base[:, 6][:, frame_order] * frame_sz[None, :, None]  # [m, F, 12]
    return torch.stack([xf, yf, zf], dim=-1)  # [m, F, 12, 3]
