/* -*- c++ -*- ----------------------------------------------------------
   areanet: area-element neural-network potential for h-BN, as a LAMMPS
   plugin pair style.

   pair_style areanet [float32] [torchscript] [check_masses yes|no]
                      [out_freq N] [out_file FILE] [atomic]
                      [guard yes|no] [guard_margin DELTA]
                      [coulomb auto|direct|mesh] [coulomb/accuracy A] [coulomb/order P]
   pair_coeff * * model.pt [model2.pt ...] B N   (one species name per atom type)

   More than one model file is a committee: the first drives the MD, all
   are compared every out_freq steps (model deviation, DeePMD-kit's
   model_devi.out; areanet_committee.h).  The domain guard reports atoms
   outside the first model's training domain (areanet_guard.h).

   Layers (areanet_layers.h, pair_areanet_layers.cpp): with molecule IDs
   (atom_style full) the molecule is the layer, as for ilp/graphene/hbn and
   coul/shield: edges join atoms of one molecule only and a charged model's
   sheet Coulomb is summed per molecule.  Under hybrid/overlay a type may be
   NULL (another sub-style's: carbon for rebo, or the other layer of a
   second areanet instance); hybrid's skip lists then hold this instance's
   types only.  An edge joining two sheets (each atom in a flat sheet of its
   own, off the other's plane) stops the run naming both atom IDs.  Under
   hybrid/overlay the atoms' charges q are the other sub-styles' and are
   not checked against the model's.

   The model file is checked whole before use: every entry of the zip
   archive (weights, code, metadata, the native extra) must pass its CRC-32
   check, on both paths (areanet_archive.h), or the run stops naming the
   file.  The species map is checked against the masses at every init: the
   element whose standard atomic weight is nearest to a type's mass must be
   the species the type is mapped to (areanet_elements.h; isotopes such as
   10B, 11B, 15N pass), or the run stops; `check_masses no` allows other
   masses.  Per-atom charges q (atom_style charge, full) are no input of the
   model: a charged model refuses non-zero q that differ from its own
   species charges; the log says once that q is not used.

   An AreaNet model (what `areanet export` writes) is evaluated by the
   native C++ implementation of its forward() (areanet_native.h), with the
   weights read from the model file's extra file areanet_native.bin by a
   small zip reader (areanet_archive.h): libtorch is not loaded at all.
   `float32` runs its MLP in single precision.  `torchscript` runs the
   module's forward() through libtorch instead -- the reference path, and
   the only one for other modules that obey the same contract.  libtorch
   comes in only then, or for a model file without areanet_native.bin
   (an older export: its weights are then read through libtorch), by
   dlopen() of libareanet_torch.so from the plugin's own directory
   (areanet_model.h); the log says why.

   The model (a TorchScript file written by `areanet export`) sees, for every
   local atom i (a "centre") and every neighbour j within the model cutoff
   (local or ghost), the edge vector r_ij = x_j - x_i.  It returns the energy
   of each centre and g_ij = dE/dr_ij for every edge.  The host then applies,
   per edge, with newton pair on (ghost forces are reverse-communicated):

     f_i += g_ij                      (F_i = -dE/dx_i and dr_ij/dx_i = -1)
     f_j -= g_ij
     W   += -r_ij (x) g_ij            W_ab = -r_a g_b, LAMMPS order
                                      xx yy zz xy xz yz (as ML-IAP's v_tally)
     vatom_i += W/2, vatom_j += W/2
     cvatom_j += -r_ij (x) g_ij       the centroid virial (9 components) of
                                      compute centroid/stress/atom and heat/flux:
                                      derivation in areanet_centroid.h

   Per-atom energy: eatom_i = the model's energy of centre i.

   Charged models (format version 2: the model file declares non-zero
   per-species charges `species_charges` (e) and a Gaussian width
   `charge_width` sigma (Angstrom); TorchScript attributes and arrays of
   areanet_native.bin of those names) get, on top of the local model, the
   long-range "sheet Coulomb" term of potential/sheet_coulomb.py, computed in
   areanet_coulomb.h (formulas there), term for term as in Python:

     E = (k_e/A) sum_{k in half plane} w(k) |S(k)|^2 - k_e sqrt(pi/2)/(2 sigma) sum_i q_i^2
     S(k) = sum_j q_j exp(i k.r_j),  w(k) = 2 pi exp(-k^2 sigma^2/2)/k,  k_e = 14.399645

   over the in-plane reciprocal lattice of the box (a = (lx,0), b = (xy,ly),
   A = lx ly, |k| <= sqrt(2 ln 1e10)/sigma; the k list follows the box under
   NPT).  Only x and y of the positions enter, F_z = 0: the sheet must lie in
   the xy plane and the box must be periodic along x and y (init_style
   stops otherwise); the box height does not matter.  q_i comes from the
   atom's type through the species mapping of pair_coeff.  Each rank sums
   S(k) over its owned atoms (MPI_Allreduce of 2K doubles per step) and adds
   e_i (to eatom_i and the energy) and F_i of its owned atoms; the global
   virial sum_k E_k [delta_ab - (sigma^2 + 1/k^2) k_a k_b] (xx, yy, xy; zero
   with z) is added once.  The per-atom virial of this term is not defined
   here: compute stress/atom with a charged model stops with an error, and
   compute centroid/stress/atom is refused at init with the reason
   (areanet_centroid.h: no per-atom split of it gives a correct heat current).  Cost
   O(atoms x k-vectors), k-vectors ~ A/sigma^2, so it grows as N^2 for large
   sheets: from 2000 atoms on (`coulomb auto`, the default; `coulomb mesh`
   always, `coulomb direct` never) the same energy is computed on a 2D mesh
   instead (areanet_mesh.h: B-spline charge assignment, FFTW, the same kernel
   and k set), grid and order chosen at init from `coulomb/accuracy` (RMS
   force error relative to two unit charges 1 A apart, default 1e-7, as
   kspace_modify states PPPM's) and printed in the log; every rank spreads
   its owned atoms onto the whole grid, one MPI_Allreduce sums it, and every
   rank transforms it (a 2D grid of ~4 points per atom: measured cheaper than
   a distributed FFT's transposes at 2 ranks).  Uncharged models (no such
   attributes, or all charges 0) are untouched.

   Errors: every problem with the model file or the input stops LAMMPS through
   error->all() with the reason; an atom without a complete area element is
   named by its atom ID (the model names its local centre index), with the
   timestep and the last step of thermo output.
------------------------------------------------------------------------- */

#ifdef PAIR_CLASS
// clang-format off
PairStyle(areanet,PairAreanet);
// clang-format on
#else

#ifndef LMP_PAIR_AREANET_H
#define LMP_PAIR_AREANET_H

#include "pair.h"

#include "areanet_model.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace areanet {
class NativeModel;
struct NativeSpec;
class SheetCoulomb;
class SheetMesh;
}

namespace LAMMPS_NS {

class AreanetCommittee;
class AreanetGuard;

class PairAreanet : public Pair {
 public:
  PairAreanet(class LAMMPS *);
  ~PairAreanet() override;

  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double init_one(int, int) override;
  double memory_usage() override;
  void finish() override;
  void *extract(const char *, int &) override;
  void *extract_peratom(const char *, int &) override;
  int pack_reverse_comm(int, int, double *) override;
  void unpack_reverse_comm(int, int *, double *) override;
  int pack_forward_comm(int, int *, double *, int, int *) override;    // pair_areanet_layers.cpp
  void unpack_forward_comm(int, int, double *) override;

 protected:
  std::unique_ptr<areanet::Model> model;            // libtorch's module, for forward()
  std::unique_ptr<areanet::NativeModel> native;    // null: TorchScript forward()
  bool torchscript_only;                            // pair_style areanet torchscript
  bool single_precision;                            // pair_style areanet float32
  bool check_masses;                                // pair_style areanet check_masses yes|no
  bool charges_noted;                               // the log said that atom charges q are unused
  int torch_threads;                                // libtorch threads, if it is loaded
  std::string model_file;
  areanet::ModelInfo info;                          // what the model declares
  std::unique_ptr<areanet::NativeSpec> native_spec; // from areanet_native.bin
  std::string torch_reason;                         // why libtorch is used ("" = it is not)
  double cutoff;                    // model cutoff (Angstrom)
  double cutoffsq;
  std::vector<int> type2species;    // atom type -> model species index (-1 = unmapped)

  // model inputs and outputs (edges inside the cutoff); they only grow, so steady-state MD
  // does not allocate
  std::vector<double> edge_vec;        // [nedges*3] r_j - r_i
  std::vector<int64_t> edge_src;       // [nedges] centre index (= position in ilist)
  std::vector<int64_t> edge_spec;      // [nedges] model species of j
  std::vector<int> edge_atom;          // [nedges] LAMMPS index of j (local or ghost)
  std::vector<int64_t> centre_spec;    // [ncentres] model species of each centre
  std::vector<double> atom_energy;     // [ncentres] model output
  std::vector<double> de_dedge;        // [nedges*3] model output

  // the long-range sheet Coulomb of a charged model (null / empty otherwise)
  bool charged;                                      // a species charge is non-zero
  std::unique_ptr<areanet::SheetCoulomb> coulomb;
  std::vector<double> type2charge;    // atom type -> charge (e)
  std::vector<double> coulomb_q;      // [nlocal] charge of each owned atom
  std::vector<double> coulomb_s;      // [2K] S(k) of this rank's atoms (Re, then Im)
  std::vector<double> coulomb_s_all;  // [2K] S(k) of all atoms
  // ... or on a 2D mesh (areanet_mesh.h): pair_style areanet coulomb direct|mesh|auto,
  // coulomb/accuracy A, coulomb/order P
  enum CoulombMethod { COULOMB_AUTO, COULOMB_DIRECT, COULOMB_MESH };
  int coulomb_method;
  double coulomb_accuracy;
  int coulomb_order;                          // 0: the cheapest order for the accuracy
  std::unique_ptr<areanet::SheetMesh> mesh;   // null: the direct sum this run
  void choose_coulomb_method();

  // the model committee (out_freq, out_file, atomic) and the domain guard
  std::unique_ptr<AreanetCommittee> committee;
  std::unique_ptr<AreanetGuard> guard;
  // layers (areanet_layers.h, pair_areanet_layers.cpp)
  std::vector<int> layer_order;            // [nlocal] charged owned atoms, grouped by layer
  std::vector<const double *> layer_x;     // [nlocal] their positions, in that order
  std::vector<double *> layer_f;           // [nlocal] their forces
  std::vector<double> layer_q;             // [nlocal] their charges
  std::vector<double> layer_e;             // [nlocal] their energies
  std::vector<double> sheet_normal;        // [3 ncentres] unit normal of each first shell
  std::vector<double> sheet_plane;         // [2 ncentres] its distance from the centre, flatness
  std::vector<double> sheet_atom;          // [5 (nlocal + nghost)] the same per atom (comm)
  bool check_sheets(int64_t nedges, const int *ilist, std::string &message);
  double coulomb_layers();
  double mesh_layers(const std::vector<int> &start);

  void allocate();
  void compute_coulomb();
  void check_type_masses();
  void check_atom_charges();
  void load_model(const std::string &file);
  void check_model_errors(bool ok, const std::string &message, int inum, const int *ilist);
  std::string describe_model_error(const std::string &message, int inum, const int *ilist);
};

}    // namespace LAMMPS_NS

#endif
#endif
