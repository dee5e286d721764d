/* ----------------------------------------------------------------------
   areanet: area-element neural-network potential for h-BN.
   Layers: what keeps an area element inside one sheet.

   An area element is one sheet's: its 12 vertices are the nearest atoms
   by rank within species, and in a bilayer squeezed below ~2.9 A the
   atoms of the other sheet would outrank the third shell; at 3.3 A they
   sit inside the cutoff (3.6 A) beside it.  So:

   * with molecule IDs (atom_style full, molecular, ...), the molecule is
     the layer -- the convention of ilp/graphene/hbn and coul/shield: a
     centre's edges go to atoms of its own molecule only, and a charged
     model's sheet Coulomb is summed per molecule (the interlayer
     electrostatics are coul/shield's);
   * whatever the atom style, an edge i -> j stops the run, naming both
     atoms and the fix (give each layer its own molecule ID), when i and j
     each lie in a flat sheet -- the atom and its second shell (6 nearest of
     its species) within OFF_PLANE_HEIGHT/2 of the plane of its first shell
     -- each lies more than OFF_PLANE_HEIGHT from the other's plane, and the
     two planes are parallel (normals within 30 degrees): they belong to
     two sheets.  The last condition keeps a sharply bent sheet whole: one
     curved sheet whose neighbour j lies a height h above i's plane at a
     chord d has normals tilted by 2 asin(h/d), and h > 1.5 A at d <= 3.6 A
     means more than 49 degrees (a compressed 60-atom cell at 2000 K bends
     this far), while the layers of a bilayer stay parallel.

   The plane of a centre's first shell: through its 3 nearest neighbours of
   the other species a, e, i, normal n ~ a x e + e x i + i x a (the model's
   own normal).  An atom without 3 + 6 such neighbours, one far from its
   plane (a single atom leaving the sheet: not a sheet of its own) or one
   whose first shell holds a leaving atom (its plane tilts away from its
   second shell) is never taken for another sheet; the model names an
   incomplete element as before.  OFF_PLANE_HEIGHT = 1.5 A sits between what one sheet reaches
   inside the 3.6 A cutoff (the 3D training data: < 0.25 A; a sheet bent
   to a 5 A radius: 1.3 A) and the nearest interlayer distance of a
   squeezed bilayer (2.8 A).

   Plain C++17: no LAMMPS, no MPI.
------------------------------------------------------------------------- */

#ifndef AREANET_LAYERS_H
#define AREANET_LAYERS_H

#include <cstdint>

namespace areanet {

constexpr double OFF_PLANE_HEIGHT = 1.5;    // Angstrom
constexpr double PARALLEL_PLANES_COS = 0.8660254037844386;    // cos 30 degrees

// Edges as in the model contract (edge_vec [3 nedges] = r_j - r_i, edge_src the centre,
// edge_spec the species of j, spec the species of each centre; the edges of one centre
// contiguous).  For every centre c: normal[3c..3c+2] the unit normal of its first-shell
// plane, plane[c] = a . n the signed distance of that plane from the centre, flat[c] the
// largest distance from it of the centre and its second shell (HUGE_VAL and a zero normal
// without 3 other-species and 6 same-species neighbours).
void first_shell_planes(int64_t ncentres, int64_t nedges, const double *edge_vec,
                        const int64_t *edge_src, const int64_t *edge_spec, const int64_t *spec,
                        double *normal, double *plane, double *flat);

// The first edge i -> j (i = edge_src, j = edge_atom) with i and j in flat sheets, each
// more than `height` from the other's plane, the planes parallel, or -1.  normal/plane/flat: of the centres, as
// above; atom_plane[5 j .. 5 j + 4]: normal, plane and flat of atom j (flat HUGE_VAL if
// unknown).  `off` gets the distance of j from i's plane.
int64_t find_off_plane_edge(int64_t nedges, const double *edge_vec, const int64_t *edge_src,
                            const int *edge_atom, const double *normal, const double *plane,
                            const double *flat, const double *atom_plane, double height,
                            double &off);

}    // namespace areanet

#endif
