/* ----------------------------------------------------------------------
   areanet: the layer rules of pair_style areanet (areanet_layers.h):
   an atom of another sheet inside an element stops the run, and a charged
   model's sheet Coulomb is summed per layer (molecule ID).
------------------------------------------------------------------------- */

#include "pair_areanet.h"

#include "areanet_coulomb.h"
#include "areanet_layers.h"
#include "areanet_mesh.h"

#include "atom.h"
#include "comm.h"
#include "neigh_list.h"

#include <algorithm>
#include <cmath>

using namespace LAMMPS_NS;

/* ----------------------------------------------------------------------
   the edges just built for the model: false, with the message naming both
   atoms and the fix, when one reaches an atom off its centre's local plane
------------------------------------------------------------------------- */

bool PairAreanet::check_sheets(int64_t nedges, const int *ilist, std::string &message)
{
  // the first-shell plane of every centre; for every atom its own plane (normal, distance),
  // the owned atoms' here and the ghosts' from their owners (forward_comm)
  const int inum = list->inum;
  sheet_normal.resize(3 * (size_t) inum + 3);
  sheet_plane.resize(2 * (size_t) inum + 2);    // plane, then flat
  double *flat = sheet_plane.data() + inum + 1;
  areanet::first_shell_planes(inum, nedges, edge_vec.data(), edge_src.data(), edge_spec.data(),
                              centre_spec.data(), sheet_normal.data(), sheet_plane.data(), flat);
  const size_t nall = (size_t) atom->nlocal + atom->nghost;
  sheet_atom.resize(5 * nall + 5);
  for (size_t k = 0; k < nall; k++) {
    sheet_atom[5 * k] = sheet_atom[5 * k + 1] = sheet_atom[5 * k + 2] = 0.0;
    sheet_atom[5 * k + 3] = sheet_atom[5 * k + 4] = HUGE_VAL;
  }
  for (int ii = 0; ii < inum; ii++) {
    double *q = &sheet_atom[5 * (size_t) ilist[ii]];
    for (int k = 0; k < 3; k++) q[k] = sheet_normal[3 * ii + k];
    q[3] = sheet_plane[ii];
    q[4] = flat[ii];
  }
  comm->forward_comm(this);

  double off = 0.0;
  const int64_t e = areanet::find_off_plane_edge(nedges, edge_vec.data(), edge_src.data(),
                                                 edge_atom.data(), sheet_normal.data(),
                                                 sheet_plane.data(), flat, sheet_atom.data(),
                                                 areanet::OFF_PLANE_HEIGHT, off);
  if (e < 0) return true;

  const int i = ilist[edge_src[e]];
  const int j = edge_atom[e];
  const double *r = &edge_vec[3 * e];
  const double d = std::sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
  const tagint ti = atom->tag[i], tj = atom->tag[j];
  const std::string where = fmt::format(
      "atom ID {} lies {:.3f} A off the local plane of atom ID {} (the plane of its first shell; "
      "{:.3f} A apart, inside the {} A cutoff; atom ID {} at {:.4f} {:.4f} {:.4f}), and each lies "
      "in a flat sheet of its own, off the other's",
      tj, off, ti, d, cutoff, ti, atom->x[i][0], atom->x[i][1], atom->x[i][2]);
  if (atom->molecule_flag)
    message = fmt::format(
        "Pair areanet: atoms ID {} and ID {} share molecule ID {} but belong to different "
        "sheets: {}, so the area element of atom ID {} would take atoms of two layers. Give "
        "each layer its own molecule ID (the layer convention of ilp/graphene/hbn and "
        "coul/shield; examples/layers/make_layers.py writes such data files)",
        ti, tj, atom->molecule[i], where, ti);
  else
    message = fmt::format(
        "Pair areanet: {}: the structure holds more than one sheet, and an area element must "
        "not mix layers. Use an atom style with molecule IDs (atom_style full) and give each "
        "layer its own molecule ID (the layer convention of ilp/graphene/hbn and coul/shield; "
        "examples/layers/make_layers.py writes such data files), or list areanet once per "
        "layer under pair_style hybrid/overlay with NULL type masks",
        where);
  return false;
}

/* ----------------------------------------------------------------------
   the sheet Coulomb of the owned atoms of areanet's types, one sheet per
   molecule ID (all atoms one sheet without molecule IDs): S(k) per layer,
   summed over ranks in one MPI_Allreduce of 2K doubles per layer; adds the
   forces, the per-atom energies and (rank 0) the global virial of every
   layer; returns this rank's energy
------------------------------------------------------------------------- */

double PairAreanet::coulomb_layers()
{
  const int nlocal = atom->nlocal;
  const int *type = atom->type;
  const tagint *molecule = atom->molecule_flag ? atom->molecule : nullptr;

  // the layers: the molecule IDs of areanet's atoms on all ranks, sorted

  std::vector<tagint> layers;
  if (molecule) {
    std::vector<tagint> mine;
    for (int i = 0; i < nlocal; i++)
      if (type2species[type[i]] >= 0) mine.push_back(molecule[i]);
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    int n = static_cast<int>(mine.size());
    std::vector<int> counts(comm->nprocs), offsets(comm->nprocs, 0);
    MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, world);
    for (int p = 1; p < comm->nprocs; p++) offsets[p] = offsets[p - 1] + counts[p - 1];
    layers.resize(offsets.back() + counts.back());
    MPI_Allgatherv(mine.data(), n, MPI_LMP_TAGINT, layers.data(), counts.data(), offsets.data(),
                   MPI_LMP_TAGINT, world);
    std::sort(layers.begin(), layers.end());
    layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  }
  const size_t nlayers = std::max<size_t>(layers.size(), 1);

  // the owned atoms grouped by layer

  std::vector<int> layer_of(nlocal, -1), start(nlayers + 1, 0);
  for (int i = 0; i < nlocal; i++) {
    if (type2species[type[i]] < 0) continue;
    layer_of[i] = molecule ? static_cast<int>(std::lower_bound(layers.begin(), layers.end(),
                                                               molecule[i]) - layers.begin())
                           : 0;
    start[layer_of[i] + 1]++;
  }
  for (size_t l = 0; l < nlayers; l++) start[l + 1] += start[l];
  const int n = start[nlayers];
  layer_order.resize(n);
  layer_x.resize(n);
  layer_f.resize(n);
  layer_q.resize(n);
  layer_e.assign(n, 0.0);
  std::vector<int> next(start.begin(), start.end() - 1);
  for (int i = 0; i < nlocal; i++) {
    if (layer_of[i] < 0) continue;
    const int k = next[layer_of[i]]++;
    layer_order[k] = i;
    layer_x[k] = atom->x[i];
    layer_f[k] = atom->f[i];
    layer_q[k] = type2charge[type[i]];
  }

  if (mesh) return mesh_layers(start);

  // S(k) of every layer, summed over ranks; then each layer's terms

  const size_t nk = coulomb->size();
  coulomb_s.assign(2 * nk * nlayers, 0.0);
  coulomb_s_all.resize(2 * nk * nlayers);
  for (size_t l = 0; l < nlayers; l++)
    coulomb->structure_factor(start[l + 1] - start[l], layer_x.data() + start[l],
                              layer_q.data() + start[l], coulomb_s.data() + 2 * nk * l);
  MPI_Allreduce(coulomb_s.data(), coulomb_s_all.data(), static_cast<int>(2 * nk * nlayers),
                MPI_DOUBLE, MPI_SUM, world);

  double energy = 0.0;
  for (size_t l = 0; l < nlayers; l++)
    energy += coulomb->atom_terms(start[l + 1] - start[l], layer_x.data() + start[l],
                                  layer_q.data() + start[l], coulomb_s_all.data() + 2 * nk * l,
                                  eflag_atom ? layer_e.data() + start[l] : nullptr,
                                  layer_f.data() + start[l]);
  if (eflag_atom)
    for (int k = 0; k < n; k++) eatom[layer_order[k]] += layer_e[k];

  if (vflag_global && comm->me == 0) {
    for (size_t l = 0; l < nlayers; l++) {
      double v[6];
      coulomb->virial(coulomb_s_all.data() + 2 * nk * l, v);
      for (int k = 0; k < 6; k++) virial[k] += v[k];
    }
  }
  return energy;
}

/* ----------------------------------------------------------------------
   coulomb_layers() on the mesh (areanet_mesh.h), layer by layer: each rank
   spreads its owned atoms onto the whole grid, one MPI_Allreduce of the
   K1 x K2 grid sums it, every rank solves it (the same FFTs) and reads its
   own atoms' energies and forces back; rank 0 adds the virial
------------------------------------------------------------------------- */

double PairAreanet::mesh_layers(const std::vector<int> &start)
{
  const size_t nlayers = start.size() - 1;
  const int n = start[nlayers];
  double energy = 0.0;
  for (size_t l = 0; l < nlayers; l++) {
    const int first = start[l], count = start[l + 1] - start[l];
    mesh->clear();
    mesh->spread(count, layer_x.data() + first, layer_q.data() + first);
    MPI_Allreduce(MPI_IN_PLACE, mesh->grid(), mesh->grid_size(), MPI_DOUBLE, MPI_SUM, world);
    double v[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    const bool tally_virial = vflag_global && comm->me == 0;
    mesh->solve(tally_virial ? v : nullptr);
    if (tally_virial)
      for (int k = 0; k < 6; k++) virial[k] += v[k];
    energy += mesh->interpolate(count, layer_x.data() + first, layer_q.data() + first,
                                eflag_atom ? layer_e.data() + first : nullptr,
                                layer_f.data() + first);
  }
  if (eflag_atom)
    for (int k = 0; k < n; k++) eatom[layer_order[k]] += layer_e[k];
  return energy;
}

/* ----------------------------------------------------------------------
   forward communication of how far each atom lies from its own plane
------------------------------------------------------------------------- */

int PairAreanet::pack_forward_comm(int n, int *list_, double *buf, int /*pbc_flag*/,
                                   int * /*pbc*/)
{
  int m = 0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < 5; k++) buf[m++] = sheet_atom[5 * (size_t) list_[i] + k];
  return m;
}

/* ---------------------------------------------------------------------- */

void PairAreanet::unpack_forward_comm(int n, int first, double *buf)
{
  int m = 0;
  for (int i = first; i < first + n; i++)
    for (int k = 0; k < 5; k++) sheet_atom[5 * (size_t) i + k] = buf[m++];
}
