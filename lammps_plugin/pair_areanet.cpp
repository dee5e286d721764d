/* ----------------------------------------------------------------------
   areanet: area-element neural-network potential for h-BN, as a LAMMPS
   plugin pair style.  See pair_areanet.h for the force/virial convention.
------------------------------------------------------------------------- */

#include "pair_areanet.h"

#include "areanet_archive.h"
#include "areanet_centroid.h"
#include "areanet_committee.h"
#include "areanet_coulomb.h"
#include "areanet_mesh.h"
#include "areanet_elements.h"
#include "areanet_guard.h"
#include "areanet_layers.h"
#include "areanet_library.h"
#include "areanet_model.h"
#include "areanet_native.h"
#include "areanet_spec.h"

#include "atom.h"
#include "comm.h"
#include "compute.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "modify.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "output.h"
#include "platform.h"
#include "update.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <regex>

using namespace LAMMPS_NS;

/* ---------------------------------------------------------------------- */

PairAreanet::PairAreanet(LAMMPS *lmp) :
    Pair(lmp), model(nullptr), native(nullptr), torchscript_only(false), single_precision(false),
    check_masses(true), charges_noted(false), torch_threads(1), cutoff(0.0), cutoffsq(0.0),
    charged(false)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  centroidstressflag = CENTROID_AVAIL;    // cvatom filled in compute() (areanet_centroid.h)
  no_virial_fdotr_compute = 1;    // the virial is tallied edge by edge in compute()
  committee = std::make_unique<AreanetCommittee>(lmp);
  guard = std::make_unique<AreanetGuard>(lmp);
  comm_forward = 5;               // the layer check: each atom's first-shell plane

  // one libtorch thread per MPI rank unless OMP_NUM_THREADS says otherwise (applied when
  // libtorch is loaded; the native evaluator runs on one thread per rank)

  const char *env = std::getenv("OMP_NUM_THREADS");
  if (env) {
    char *end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0) torch_threads = static_cast<int>(n);
  }
}

/* ---------------------------------------------------------------------- */

PairAreanet::~PairAreanet()
{
  if (copymode) return;

  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

/* ---------------------------------------------------------------------- */

void PairAreanet::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);

  double **x = atom->x;
  double **f = atom->f;
  int *type = atom->type;

  const int inum = list->inum;
  int *ilist = list->ilist;
  int *numneigh = list->numneigh;
  int **firstneigh = list->firstneigh;

  // count the edges inside the model cutoff (a fraction of the listed neighbours, which
  // extend to cutoff + skin) and size the buffers for them with some room to spare; they
  // only grow, so steady-state MD does not allocate

  // layers (areanet_layers.h): with molecule IDs an element takes atoms of its centre's
  // molecule only; atoms of NULL types (hybrid/overlay) are other sub-styles'
  const tagint *molecule = atom->molecule_flag ? atom->molecule : nullptr;

  bigint nwithin = 0;
  for (int ii = 0; ii < inum; ii++) {
    const int i = ilist[ii];
    const int *jlist = firstneigh[i];
    const int jnum = numneigh[i];
    for (int jj = 0; jj < jnum; jj++) {
      const int j = jlist[jj] & NEIGHMASK;
      if (type2species[type[j]] < 0 || (molecule && molecule[j] != molecule[i])) continue;
      const double delx = x[j][0] - x[i][0];
      const double dely = x[j][1] - x[i][1];
      const double delz = x[j][2] - x[i][2];
      if (delx * delx + dely * dely + delz * delz < cutoffsq) nwithin++;
    }
  }
  if (centre_spec.size() < (size_t) inum) {
    const size_t n = inum + inum / 10 + 1;
    centre_spec.resize(n);
    atom_energy.resize(n);
  }
  if (edge_src.size() < (size_t) nwithin + 1) {
    const size_t n = nwithin + nwithin / 10 + 1;
    edge_vec.resize(3 * n);
    de_dedge.resize(3 * n);
    edge_src.resize(n);
    edge_spec.resize(n);
    edge_atom.resize(n);
  }

  // edges: every neighbour j of a local atom i with |x_j - x_i| < cutoff

  int64_t nedges = 0;
  for (int ii = 0; ii < inum; ii++) {
    const int i = ilist[ii];
    const double xtmp = x[i][0];
    const double ytmp = x[i][1];
    const double ztmp = x[i][2];
    centre_spec[ii] = type2species[type[i]];

    const int *jlist = firstneigh[i];
    const int jnum = numneigh[i];
    for (int jj = 0; jj < jnum; jj++) {
      const int j = jlist[jj] & NEIGHMASK;
      if (type2species[type[j]] < 0 || (molecule && molecule[j] != molecule[i])) continue;
      const double delx = x[j][0] - xtmp;
      const double dely = x[j][1] - ytmp;
      const double delz = x[j][2] - ztmp;
      const double rsq = delx * delx + dely * dely + delz * delz;
      if (rsq >= cutoffsq) continue;

      double *r = &edge_vec[3 * nedges];
      r[0] = delx;
      r[1] = dely;
      r[2] = delz;
      edge_src[nedges] = ii;
      edge_spec[nedges] = type2species[type[j]];
      edge_atom[nedges] = j;
      nedges++;
    }
  }

  // an atom of another sheet inside an element stops the run (areanet_layers.h)
  std::string message;
  bool ok = check_sheets(nedges, ilist, message);
  check_model_errors(ok, message, inum, ilist);

  if (inum > 0 && native)
    ok = native->compute(inum, nedges, edge_vec.data(), edge_src.data(), edge_spec.data(),
                         centre_spec.data(), atom_energy.data(), de_dedge.data(), message);
  else if (inum > 0)
    ok = model->compute(inum, nedges, edge_vec.data(), edge_src.data(), edge_spec.data(),
                        centre_spec.data(), atom_energy.data(), de_dedge.data(), message);
  check_model_errors(ok, message, inum, ilist);
  guard->check(inum, ilist);

  // energies

  if (eflag_either) {
    for (int ii = 0; ii < inum; ii++) {
      if (eflag_global) eng_vdwl += atom_energy[ii];
      if (eflag_atom) eatom[ilist[ii]] += atom_energy[ii];
    }
  }

  // forces and virial, edge by edge (convention in pair_areanet.h)

  for (int64_t e = 0; e < nedges; e++) {
    const int i = ilist[edge_src[e]];
    const int j = edge_atom[e];
    const double *g = &de_dedge[3 * e];

    f[i][0] += g[0];
    f[i][1] += g[1];
    f[i][2] += g[2];
    f[j][0] -= g[0];
    f[j][1] -= g[1];
    f[j][2] -= g[2];

    if (vflag_either) {
      const double *r = &edge_vec[3 * e];
      double v[6];
      v[0] = -r[0] * g[0];
      v[1] = -r[1] * g[1];
      v[2] = -r[2] * g[2];
      v[3] = -r[0] * g[1];
      v[4] = -r[0] * g[2];
      v[5] = -r[1] * g[2];
      if (vflag_global) {
        for (int k = 0; k < 6; k++) virial[k] += v[k];
      }
      if (vflag_atom) {
        for (int k = 0; k < 6; k++) {
          vatom[i][k] += 0.5 * v[k];
          vatom[j][k] += 0.5 * v[k];
        }
      }
      if (cvflag_atom) areanet::tally_centroid_virial(cvatom[j], r, g);
    }
  }

  if (coulomb) compute_coulomb();

  // the committee's other models on the same edges (on its steps only)

  if (committee->due())
    committee->compute(this,
                       {inum, ilist, nedges, edge_vec.data(), edge_src.data(), edge_spec.data(),
                        edge_atom.data(), centre_spec.data(), de_dedge.data()});
}

/* ----------------------------------------------------------------------
   the long-range sheet Coulomb of a charged model (areanet_coulomb.h):
   every rank sums S(k) over its owned atoms, the sum over all ranks gives
   the total, and each rank adds the energies and forces of its owned atoms;
   the virial, a function of the total S only, is added once (on rank 0)
------------------------------------------------------------------------- */

void PairAreanet::compute_coulomb()
{
  if (vflag_atom || cvflag_atom)
    error->all(FLERR,
               "Pair areanet: per-atom virial (compute stress/atom or centroid/stress/atom) is "
               "not supported with a charged model: its long-range sheet Coulomb term gives "
               "only the global virial (pressure); use compute pressure, or a model without "
               "charges");

  const double xy = domain->triclinic ? domain->xy : 0.0;
  if (mesh)
    mesh->set_cell(domain->xprd, domain->yprd, xy);    // the grid of this run, the kernel of this box
  else
    coulomb->set_cell(domain->xprd, domain->yprd, xy);

  // one sheet per molecule ID (or one sheet): S(k), energies, forces and virial per layer
  const double energy = coulomb_layers();
  if (eflag_global) eng_vdwl += energy;
}

/* ----------------------------------------------------------------------
   stop all ranks if the model refused to evaluate on any of them, naming the
   atom by its ID (not its local index) when the model names a centre.
   The lowest failing rank's message is broadcast and reported by
   error->all(): rank 0 then prints it and writes it to the log file, and
   all ranks stop cleanly.  (With error->one() from a rank other than 0 the
   message never reaches the log file, and mpiexec may drop the rank's
   output when MPI_Abort tears the job down.)  Costs one MPI_Allreduce of
   one int per force call.
------------------------------------------------------------------------- */

void PairAreanet::check_model_errors(bool ok, const std::string &message, int inum,
                                     const int *ilist)
{
  int failed_rank = ok ? comm->nprocs : comm->me;
  int first_failed;
  MPI_Allreduce(&failed_rank, &first_failed, 1, MPI_INT, MPI_MIN, world);
  if (first_failed == comm->nprocs) return;

  std::string report;
  if (comm->me == first_failed) report = describe_model_error(message, inum, ilist);
  int length = static_cast<int>(report.size());
  MPI_Bcast(&length, 1, MPI_INT, first_failed, world);
  report.resize(length);
  MPI_Bcast(&report[0], length, MPI_CHAR, first_failed, world);
  if (comm->nprocs > 1) report += fmt::format(" (on proc {})", first_failed);

  // where the run stopped: the step, and the last step whose thermo output was written (set
  // by the run's set-up, which computes the forces first)
  const char *stage = update->whichflag == 2 ? "minimization iteration" : "timestep";
  if (update->setupflag)
    report += fmt::format(" [{} {}, at the set-up of the run, before any thermo output of it]",
                          stage, update->ntimestep);
  else
    report += fmt::format(" [{} {}; the last thermo output is of step {}]", stage,
                          update->ntimestep, output->last_thermo);
  error->all(FLERR, report);
}

/* ---------------------------------------------------------------------- */

std::string PairAreanet::describe_model_error(const std::string &message, int inum,
                                              const int *ilist)
{
  if (utils::strmatch(message, "^Pair areanet: ")) return message;    // the host's own
  std::string reason = message;
  if (utils::strmatch(reason, "^areanet: ")) reason = reason.substr(9);

  // numbers as written: a scripted model prints the cutoff 3.6 as 3.6000000000000001
  static const std::regex long_number(R"(\d+\.\d{9,})");
  std::string tidy;
  auto last = reason.cbegin();
  for (std::sregex_iterator it(reason.cbegin(), reason.cend(), long_number), end; it != end; ++it) {
    tidy.append(last, (*it)[0].first);
    tidy += fmt::format("{:.10g}", std::strtod(it->str().c_str(), nullptr));
    last = (*it)[0].second;
  }
  reason = tidy.append(last, reason.cend());

  static const std::regex centre_index(R"(centre index (\d+))");
  std::smatch m;
  if (std::regex_search(reason, m, centre_index)) {
    const long ii = std::strtol(m[1].str().c_str(), nullptr, 10);
    if (ii >= 0 && ii < inum) {
      const int i = ilist[ii];
      const tagint id = atom->tag[i];
      reason = std::regex_replace(reason, centre_index, fmt::format("atom ID {}", id));
      return fmt::format("Pair areanet: {} [atom ID {}: type {}, at {:.4f} {:.4f} {:.4f}]", reason,
                         id, atom->type[i], atom->x[i][0], atom->x[i][1], atom->x[i][2]);
    }
  }
  return "Pair areanet: model evaluation failed: " + reason;
}

/* ----------------------------------------------------------------------
   allocate all arrays
------------------------------------------------------------------------- */

void PairAreanet::allocate()
{
  allocated = 1;
  const int n = atom->ntypes + 1;

  memory->create(setflag, n, n, "pair:setflag");
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) setflag[i][j] = 0;

  memory->create(cutsq, n, n, "pair:cutsq");
  type2species.assign(n, -1);
}

/* ----------------------------------------------------------------------
   global settings
------------------------------------------------------------------------- */

void PairAreanet::settings(int narg, char **arg)
{
  torchscript_only = false;
  single_precision = false;
  check_masses = true;
  coulomb_method = COULOMB_AUTO;
  coulomb_accuracy = areanet::SheetMesh::DEFAULT_ACCURACY;
  coulomb_order = 0;
  committee->reset();
  guard->reset();
  for (int iarg = 0; iarg < narg; iarg++) {
    int used = 0;
    if ((used = committee->parse(narg, arg, iarg)) || (used = guard->parse(narg, arg, iarg)))
      iarg += used - 1;
    else if (strcmp(arg[iarg], "torchscript") == 0)
      torchscript_only = true;
    else if (strcmp(arg[iarg], "float32") == 0)
      single_precision = true;
    else if (strcmp(arg[iarg], "float64") == 0)
      single_precision = false;
    else if (strcmp(arg[iarg], "check_masses") == 0) {
      if (iarg + 1 >= narg)
        error->all(FLERR, "Illegal pair_style areanet command: check_masses needs yes or no");
      check_masses = utils::logical(FLERR, arg[++iarg], false, lmp) == 1;
    } else if (strcmp(arg[iarg], "coulomb") == 0) {
      const std::string method = iarg + 1 < narg ? arg[iarg + 1] : "";
      if (method == "auto")
        coulomb_method = COULOMB_AUTO;
      else if (method == "direct")
        coulomb_method = COULOMB_DIRECT;
      else if (method == "mesh")
        coulomb_method = COULOMB_MESH;
      else
        error->all(FLERR,
                   "Illegal pair_style areanet command: coulomb needs auto, direct or mesh (how "
                   "a charged model's sheet Coulomb is summed), got '{}'",
                   method);
      iarg++;
    } else if (strcmp(arg[iarg], "coulomb/accuracy") == 0) {
      if (iarg + 1 >= narg)
        error->all(FLERR, "Illegal pair_style areanet command: coulomb/accuracy needs a value");
      coulomb_accuracy = utils::numeric(FLERR, arg[++iarg], false, lmp);
      if (!(coulomb_accuracy > 0.0 && coulomb_accuracy < 1.0))
        error->all(FLERR,
                   "Illegal pair_style areanet command: coulomb/accuracy {} must lie between 0 "
                   "and 1 (the RMS force error of the mesh relative to two unit charges 1 A "
                   "apart, as kspace_modify's)",
                   arg[iarg]);
    } else if (strcmp(arg[iarg], "coulomb/order") == 0) {
      if (iarg + 1 >= narg)
        error->all(FLERR, "Illegal pair_style areanet command: coulomb/order needs a value");
      coulomb_order = utils::inumeric(FLERR, arg[++iarg], false, lmp);
      if (coulomb_order < areanet::SheetMesh::MIN_ORDER ||
          coulomb_order > areanet::SheetMesh::MAX_ORDER)
        error->all(FLERR,
                   "Illegal pair_style areanet command: coulomb/order {} must be {} to {} (the "
                   "B-spline order of the sheet Coulomb mesh)",
                   coulomb_order, areanet::SheetMesh::MIN_ORDER, areanet::SheetMesh::MAX_ORDER);
    } else
      error->all(FLERR,
                 "Illegal pair_style areanet command: unknown argument '{}'; it takes no arguments "
                 "other than the keywords float32, torchscript, check_masses yes|no, out_freq N, "
                 "out_file FILE, atomic, relative L, relative_v L, guard yes|no, guard_margin DELTA, "
                 "coulomb auto|direct|mesh, coulomb/accuracy A and coulomb/order P (the model file(s) "
                 "and the species go in pair_coeff * * model.pt [more.pt ...] B N)",
                 arg[iarg]);
  }
  if (torchscript_only && single_precision)
    error->all(FLERR,
               "Illegal pair_style areanet command: float32 is a mode of the native evaluator; "
               "the torchscript path runs the model file's forward() as written (float64)");
}

/* ----------------------------------------------------------------------
   pair_coeff * * model.pt [model2.pt ...] <species of type 1> ... <species of type ntypes>
   (more than one model file: a committee, areanet_committee.h)
------------------------------------------------------------------------- */

void PairAreanet::coeff(int narg, char **arg)
{
  if (!allocated) allocate();

  const int ntypes = atom->ntypes;
  const int nmodels = narg - 2 - ntypes;    // the model files come before the species
  if (nmodels < 1)
    error->all(FLERR,
               "Incorrect args for pair coefficients: pair_style areanet expects "
               "pair_coeff * * <model file> [more model files] followed by {} species name(s), "
               "one per atom type, got {} after the model file",
               ntypes, narg >= 3 ? narg - 3 : 0);
  char **species_arg = arg + 2 + nmodels - 1;    // species_arg[itype], itype = 1 .. ntypes

  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR,
               "Pair style areanet requires 'units metal' (eV, Angstrom), this input uses "
               "'units {}'",
               update->unit_style);

  load_model(arg[2]);

  // the native evaluator, unless asked for TorchScript or the module is not an AreaNet

  native.reset();
  std::string evaluation = "TorchScript forward() of the model file";
  if (torchscript_only) {
    evaluation += " (pair_style areanet torchscript)";
  } else {
    std::string why;
    if (!native_spec) {
      // an older export: read the weights through libtorch
      native_spec = std::make_unique<areanet::NativeSpec>();
      if (model->native_spec(*native_spec, why)) why = native_spec->check();
      if (!why.empty()) native_spec.reset();
    }
    if (native_spec) {
      native = std::make_unique<areanet::NativeModel>(
          *native_spec,
          single_precision ? areanet::NativeModel::FLOAT32 : areanet::NativeModel::FLOAT64);
      const char *block = std::getenv("AREANET_NATIVE_BLOCK");    // tuning knob: elements per block
      if (block && std::atoi(block) > 0) native->set_block(std::atoi(block));
      evaluation = native->describe();
      if (model) evaluation += " (weights read through libtorch)";
      model.reset();    // the native evaluator holds its own copy of the weights
      native_spec.reset();
    } else if (single_precision) {
      error->all(FLERR,
                 "Pair areanet: float32 needs the native evaluator, which cannot run model {}: {}",
                 arg[2], why);
    } else {
      evaluation += " (no native evaluator: " + why + ")";
    }
  }

  // map atom types to model species by name

  std::string known;
  for (const auto &s : info.species) known += " " + s;

  for (int itype = 1; itype <= ntypes; itype++) {
    const std::string name = species_arg[itype];
    type2species[itype] = -1;
    if (name == "NULL") {    // another sub-style's type: only under hybrid/overlay
      if (!utils::strmatch(force->pair_style, "^hybrid"))
        error->all(FLERR,
                   "Pair areanet: atom type {} is left unmapped (NULL) in pair_coeff; NULL types "
                   "are for pair_style hybrid/overlay, where another sub-style computes them (e.g. "
                   "rebo for carbon, or a second areanet instance for the other layer); alone, "
                   "every atom type must be mapped to one of the model species:{}",
                   itype, known);
      continue;
    }
    for (size_t s = 0; s < info.species.size(); s++)
      if (info.species[s] == name) type2species[itype] = static_cast<int>(s);
    if (type2species[itype] < 0)
      error->all(FLERR,
                 "Pair areanet: species '{}' given for atom type {} is not in model {} (model "
                 "species:{})",
                 name, itype, model_file, known);
  }

  for (int i = 1; i <= ntypes; i++)
    for (int j = 1; j <= ntypes; j++) setflag[i][j] = type2species[i] >= 0 && type2species[j] >= 0;

  // the committee: the other model files (a species name there means too many species)

  std::vector<std::string> members;
  for (int k = 1; k < nmodels; k++) {
    members.emplace_back(arg[2 + k]);
    if (std::find(info.species.begin(), info.species.end(), members.back()) != info.species.end() &&
        !platform::file_is_readable(members.back()))
      error->all(FLERR,
                 "Incorrect args for pair coefficients: pair_coeff * * <model files> <species> "
                 "needs exactly {} species name(s), one per atom type, after the model file(s), "
                 "got {}: '{}' is a species of model {}, not a model file",
                 ntypes, narg - 2 - k, members.back(), model_file);
  }
  committee->load(members, model_file, info, torchscript_only, single_precision, torch_threads);
  comm_reverse = committee->active() ? committee->comm_size() : 0;

  // the long-range sheet Coulomb of a charged model: the charge of each atom type

  coulomb.reset();
  mesh.reset();
  type2charge.assign(ntypes + 1, 0.0);
  if (charged) {
    for (int itype = 1; itype <= ntypes; itype++)
      if (type2species[itype] >= 0) type2charge[itype] = info.species_charges[type2species[itype]];
    coulomb = std::make_unique<areanet::SheetCoulomb>(info.charge_width);
  }

  if (comm->me == 0) {
    std::string mapping;
    for (int itype = 1; itype <= ntypes; itype++)
      mapping += fmt::format(" {}->{}", itype,
                             type2species[itype] < 0 ? "NULL" : info.species[type2species[itype]]);
    std::string torch = "model read from its areanet_native.bin, without libtorch";
    if (!torch_reason.empty()) {
      std::string why;
      const auto *api = areanet::torch_api(torch_reason, why);    // loaded by load_model
      torch = fmt::format("libtorch loaded ({}/{}), {} thread(s) per MPI rank, because {}",
                          areanet::plugin_directory(), AREANET_TORCH_LIBRARY,
                          api ? api->get_num_threads() : 0, torch_reason);
    }
    utils::logmesg(lmp,
                   "areanet: model {} (format {}, cutoff {} A, species{}, units {})\n"
                   "areanet: {}\n"
                   "areanet: evaluation: {}\n"
                   "areanet: atom type -> model species:{}\n",
                   model_file, info.format_version, info.cutoff, known, info.units, torch,
                   evaluation, mapping);

    if (charged) {
      std::string charges;
      for (size_t s = 0; s < info.species.size(); s++)
        charges += fmt::format(" {} {:+.6g}", info.species[s], info.species_charges[s]);
      utils::logmesg(lmp,
                     "areanet: long-range sheet Coulomb active: charges (e){}, Gaussian width "
                     "{:.6g} A, k_e {} eV A, in-plane k-vectors with exp(-k^2 w^2/2) >= {:g} "
                     "(needs x and y periodic, the sheet in the xy plane; no per-atom virial)\n",
                     charges, info.charge_width, areanet::SheetCoulomb::COULOMB,
                     areanet::SheetCoulomb::ACCURACY);
    }
    if (committee->active()) utils::logmesg(lmp, "areanet: {}\n", committee->describe());
  }
  guard->setup(native.get(), model_file,
               torchscript_only ? "pair_style areanet torchscript" : "no native extra");
}

/* ----------------------------------------------------------------------
   rank 0 reads the file and broadcasts its bytes; every rank reads the
   model from them -- the native extra when it can, else through libtorch --
   and checks what the model declares
------------------------------------------------------------------------- */

void PairAreanet::load_model(const std::string &file)
{
  std::string bytes;
  std::string reason;
  long long nbytes = -1;

  if (comm->me == 0) {
    FILE *fp = fopen(file.c_str(), "rb");
    if (!fp) {
      reason = utils::getsyserror();
    } else {
      char buffer[65536];
      size_t n;
      while ((n = fread(buffer, 1, sizeof(buffer), fp)) > 0) bytes.append(buffer, n);
      if (ferror(fp)) reason = utils::getsyserror();
      fclose(fp);
      if (reason.empty()) nbytes = static_cast<long long>(bytes.size());
    }
  }
  MPI_Bcast(&nbytes, 1, MPI_LONG_LONG, 0, world);
  if (nbytes < 0) error->all(FLERR, "Pair areanet: cannot open model file {}: {}", file, reason);
  if (nbytes > (long long) 0x7fffffff)
    error->all(FLERR, "Pair areanet: model file {} is too large ({} bytes)", file, nbytes);
  if (comm->me != 0) bytes.resize(nbytes);
  MPI_Bcast(&bytes[0], static_cast<int>(nbytes), MPI_CHAR, 0, world);

  model_file = file;
  model.reset();
  native_spec.reset();
  torch_reason.clear();

  // the file itself, without libtorch: its archive checked whole, then its native extra

  std::string message;
  if (!areanet::read_model_file(bytes, file, torchscript_only, info, native_spec, torch_reason,
                                message))
    error->all(FLERR, "Pair areanet: {}", message);

  // libtorch only when needed

  if (!native_spec) {
    const auto *torch = areanet::torch_api(torch_reason, message);
    if (!torch) error->all(FLERR, "Pair areanet: {}", message);
    torch->set_num_threads(torch_threads);
    model.reset(torch->create());
    if (!model->load(bytes, file, message)) error->all(FLERR, "Pair areanet: {}", message);
    info = model->info();
  }

  message = areanet::check_model_info(info, file);
  if (!message.empty()) error->all(FLERR, "Pair areanet: {}", message);
  charged = areanet::is_charged(info);

  cutoff = info.cutoff;
  cutoffsq = cutoff * cutoff;
}

/* ----------------------------------------------------------------------
   init specific to this pair style
------------------------------------------------------------------------- */

void PairAreanet::init_style()
{
  if (force->newton_pair == 0) error->all(FLERR, "Pair style areanet requires newton pair on");
  if (atom->tag_enable == 0) error->all(FLERR, "Pair style areanet requires atom IDs");
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "Pair style areanet requires 'units metal', this input uses 'units {}'",
               update->unit_style);
  if (!model && !native)
    error->all(FLERR, "Pair areanet: no model loaded (pair_coeff * * model.pt ...)");
  if (coulomb && !(domain->xperiodic && domain->yperiodic))
    error->all(FLERR,
               "Pair areanet: model {} is charged, and its long-range sheet Coulomb term needs "
               "a box periodic along x and y (the sheet in the xy plane); this box has boundary "
               "{} along x and {} along y",
               model_file, domain->xperiodic ? "p" : "non-periodic",
               domain->yperiodic ? "p" : "non-periodic");

  if (coulomb)
    for (const auto &c : modify->get_compute_list())
      if (strcmp(c->style, "centroid/stress/atom") == 0)
        error->all(FLERR,
                   "Pair areanet: compute {} (centroid/stress/atom) is not available with the "
                   "charged model {}: {}",
                   c->id, model_file, areanet::CHARGED_CENTROID_REASON);

  if (check_masses) check_type_masses();
  if (atom->q_flag) check_atom_charges();
  if (coulomb) choose_coulomb_method();
  committee->init();
  guard->start_run();

  // full neighbour list of the local atoms, neighbours local or ghost

  neighbor->add_request(this, NeighConst::REQ_FULL);
}

/* ----------------------------------------------------------------------
   the sheet Coulomb of this run: the direct k-sum, or a mesh whose grid
   and order are chosen here from coulomb/accuracy, for the box and the
   charges now (kept for the run, so that the energy is continuous under
   NPT); the choice goes to the log
------------------------------------------------------------------------- */

void PairAreanet::choose_coulomb_method()
{
  double local[2] = {0.0, 0.0}, total[2];    // charged atoms, sum of q^2
  for (int i = 0; i < atom->nlocal; i++) {
    const double q = type2charge[atom->type[i]];
    if (type2species[atom->type[i]] < 0 || q == 0.0) continue;
    local[0] += 1.0;
    local[1] += q * q;
  }
  MPI_Allreduce(local, total, 2, MPI_DOUBLE, MPI_SUM, world);
  const double xy = domain->triclinic ? domain->xy : 0.0;

  const bool use_mesh = coulomb_method == COULOMB_MESH ||
      (coulomb_method == COULOMB_AUTO && total[0] >= areanet::SheetMesh::MESH_ATOMS);
  if (!use_mesh || total[0] == 0.0) {
    mesh.reset();
    coulomb->set_cell(domain->xprd, domain->yprd, xy);
    if (comm->me == 0)
      utils::logmesg(lmp, "areanet: sheet Coulomb summed directly over {} ({} charged atoms{})\n",
                     coulomb->describe(), total[0],
                     coulomb_method == COULOMB_DIRECT
                         ? ", pair_style areanet coulomb direct"
                         : fmt::format(", fewer than the {} from which coulomb auto uses the mesh",
                                       areanet::SheetMesh::MESH_ATOMS));
    return;
  }
  // with molecule IDs the atoms of all layers share the grid choice (their density is
  // the whole structure's: the choice is conservative for each layer)
  mesh = std::make_unique<areanet::SheetMesh>(info.charge_width, coulomb_accuracy, coulomb_order);
  std::string why;
  if (!mesh->choose(domain->xprd, domain->yprd, xy, total[0], total[1] / total[0], why))
    error->all(FLERR, "Pair areanet: the sheet Coulomb mesh of model {}: {}; ask for a larger "
               "coulomb/accuracy or another coulomb/order", model_file, why);
  mesh->set_cell(domain->xprd, domain->yprd, xy);
  if (comm->me == 0)
    utils::logmesg(lmp, "areanet: sheet Coulomb on a {} ({} charged atoms; {:.3g} MB per rank)\n",
                   mesh->describe(), total[0], mesh->bytes() / 1048576.0);
}

/* ----------------------------------------------------------------------
   the species map of pair_coeff against the masses of the atom types
   (masses are often set after pair_coeff, so this runs at init): the
   element nearest in standard atomic weight must be the mapped species
------------------------------------------------------------------------- */

void PairAreanet::check_type_masses()
{
  if (!atom->mass) return;    // per-atom masses (rmass): no type masses to check
  for (int itype = 1; itype <= atom->ntypes; itype++) {
    if (!atom->mass_setflag[itype]) continue;    // LAMMPS itself stops on unset masses
    if (type2species[itype] < 0) continue;       // NULL: another sub-style's type
    const std::string &species = info.species[type2species[itype]];
    const std::string why = areanet::mass_mismatch(species, atom->mass[itype]);
    if (!why.empty())
      error->all(FLERR,
                 "Pair areanet: atom type {} is mapped to model species {} by pair_coeff, but its "
                 "{}: the species of pair_coeff must follow the atom types in order. If the mass "
                 "is deliberate (not an isotope of {}), use pair_style areanet check_masses no",
                 itype, species, why, species);
  }
}

/* ----------------------------------------------------------------------
   per-atom charges q are no input of the model: a charged model uses its
   own species charges, so non-zero q that differ from them are refused;
   the log says once that q is not used
------------------------------------------------------------------------- */

void PairAreanet::check_atom_charges()
{
  constexpr double tolerance = 1e-6;    // e
  const double *q = atom->q;
  const int *type = atom->type;
  tagint first = MAXTAGINT;    // the lowest atom ID of this rank with a charge the model ignores
  double first_values[2] = {0.0, 0.0};    // its q and type
  bool nonzero = false;
  // under hybrid/overlay the charges are another sub-style's (coul/shield between layers):
  // noted, not refused
  const bool overlaid = utils::strmatch(force->pair_style, "^hybrid");
  for (int i = 0; i < atom->nlocal; i++) {
    if (q[i] == 0.0 || type2species[type[i]] < 0) continue;
    nonzero = true;
    if (charged && !overlaid && std::fabs(q[i] - type2charge[type[i]]) > tolerance &&
        atom->tag[i] < first) {
      first = atom->tag[i];
      first_values[0] = q[i];
      first_values[1] = type[i];
    }
  }
  int any_nonzero = nonzero ? 1 : 0, all_nonzero = 0;
  tagint bad = MAXTAGINT;
  MPI_Allreduce(&any_nonzero, &all_nonzero, 1, MPI_INT, MPI_MAX, world);
  MPI_Allreduce(&first, &bad, 1, MPI_LMP_TAGINT, MPI_MIN, world);

  std::string own;
  for (size_t s = 0; s < info.species.size(); s++)
    own += fmt::format(" {} {:+g}", info.species[s],
                       info.species_charges.empty() ? 0.0 : info.species_charges[s]);
  if (bad != MAXTAGINT) {
    int mine = first == bad ? comm->me : comm->nprocs, owner = 0;
    MPI_Allreduce(&mine, &owner, 1, MPI_INT, MPI_MIN, world);
    MPI_Bcast(first_values, 2, MPI_DOUBLE, owner, world);
    error->all(FLERR,
               "Pair areanet: atom ID {} (type {}) has charge q = {:+g} e, but model {} is charged "
               "and its long-range sheet Coulomb uses its own charges (e):{}; per-atom charges are "
               "not used, so set them to 0 (or to the model's) to run with this model",
               bad, static_cast<int>(first_values[1]), first_values[0], model_file, own);
  }
  if (all_nonzero && !charges_noted && comm->me == 0) {
    if (overlaid)
      utils::logmesg(lmp, "areanet: the atoms' charges q are not read by pair_style areanet (they "
                          "are for the other sub-styles, e.g. coul/shield between layers); {}\n",
                     charged ? "its sheet Coulomb, within each layer, uses the model's (e):" + own
                             : "model " + model_file + " is a local model, without charges");
    else if (charged)
      utils::logmesg(lmp, "areanet: the atoms' charges q equal the model's species charges and are "
                          "not read: the sheet Coulomb uses the model's (e):{}\n", own);
    else
      utils::logmesg(lmp, "areanet: the atoms' charges q are not used by pair_style areanet: "
                          "model {} is a local model, without charges\n", model_file);
  }
  if (all_nonzero) charges_noted = true;
}

/* ----------------------------------------------------------------------
   init for one type pair i,j and corresponding j,i
------------------------------------------------------------------------- */

double PairAreanet::init_one(int i, int j)
{
  if (setflag[i][j] == 0) error->all(FLERR, "All pair coeffs are not set");
  return cutoff;
}

/* ---------------------------------------------------------------------- */

double PairAreanet::memory_usage()
{
  double bytes = Pair::memory_usage();
  bytes += sizeof(double) * (edge_vec.capacity() + de_dedge.capacity() + atom_energy.capacity());
  bytes += sizeof(int64_t) * (edge_src.capacity() + edge_spec.capacity() + centre_spec.capacity());
  bytes += sizeof(int) * edge_atom.capacity();
  if (native) bytes += native->memory_usage();
  bytes += sizeof(double) * (coulomb_q.capacity() + coulomb_s.capacity() + coulomb_s_all.capacity());
  if (mesh) bytes += mesh->bytes();
  return bytes;
}

/* ----------------------------------------------------------------------
   end of a run: the domain guard's summary
------------------------------------------------------------------------- */

void PairAreanet::finish()
{
  guard->summary();
}

/* ----------------------------------------------------------------------
   model_devi_flag: fix pair's trigger, the committee is evaluated on the
   steps it is set (areanet_committee.h)
------------------------------------------------------------------------- */

void *PairAreanet::extract(const char *name, int &dim)
{
  dim = 0;
  if (strcmp(name, "model_devi_flag") == 0) return committee->trigger();
  return nullptr;
}

/* ----------------------------------------------------------------------
   per-atom fields for fix pair: model_devi (force deviation of the last
   committee evaluation, eV/A), domain_excess (the domain guard, A)
------------------------------------------------------------------------- */

void *PairAreanet::extract_peratom(const char *name, int &ncol)
{
  ncol = 0;
  if (strcmp(name, "model_devi") == 0) {
    if (!committee->active())
      error->all(FLERR,
                 "Pair areanet: model_devi needs a committee (pair_coeff * * a.pt b.pt ... B N) "
                 "or out_freq/out_file in pair_style areanet");
    return committee->peratom();
  }
  if (strcmp(name, "domain_excess") == 0) {
    if (!guard->on())
      error->all(FLERR, "Pair areanet: domain_excess needs the domain guard, which is off (the "
                        "log of pair_coeff says why)");
    return guard->peratom();
  }
  return nullptr;
}

/* ---------------------------------------------------------------------- */

int PairAreanet::pack_reverse_comm(int n, int first, double *buf)
{
  return committee->pack_reverse_comm(n, first, buf);
}

/* ---------------------------------------------------------------------- */

void PairAreanet::unpack_reverse_comm(int n, int *list, double *buf)
{
  committee->unpack_reverse_comm(n, list, buf);
}
