/* ----------------------------------------------------------------------
   areanet: the model committee of pair_style areanet (formulas and output
   in areanet_committee.h).
------------------------------------------------------------------------- */

#include "areanet_committee.h"

#include "areanet_gather.h"

#include "areanet_archive.h"
#include "areanet_library.h"
#include "areanet_native.h"
#include "areanet_spec.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "pair.h"
#include "update.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

using namespace LAMMPS_NS;

// One member after the first model: its file and the evaluator that runs it.
struct AreanetCommittee::Member {
  std::string file;
  areanet::ModelInfo info;
  std::unique_ptr<areanet::NativeModel> native;    // null: TorchScript forward()
  std::unique_ptr<areanet::Model> torch;
};

/* ---------------------------------------------------------------------- */

AreanetCommittee::AreanetCommittee(LAMMPS *lmp) :
    Pointers(lmp), out_freq(0), freq_set(false), file_set(false), atomic(false),
    relative_f(-1.0), relative_v(-1.0), fp(nullptr),
    trigger_flag(0), last_written(-1), nmax(0)
{
}

/* ---------------------------------------------------------------------- */

AreanetCommittee::~AreanetCommittee()
{
  if (fp) fclose(fp);
}

/* ----------------------------------------------------------------------
   out_freq N | out_file FILE | atomic | relative L | relative_v L
------------------------------------------------------------------------- */

void AreanetCommittee::reset()
{
  out_freq = 0;
  freq_set = file_set = atomic = false;
  relative_f = relative_v = -1.0;
  out_file.clear();
}

int AreanetCommittee::parse(int narg, char **arg, int iarg)
{
  if (strcmp(arg[iarg], "out_freq") == 0) {
    if (iarg + 1 >= narg)
      error->all(FLERR, "Illegal pair_style areanet command: out_freq needs a number of steps");
    out_freq = utils::inumeric(FLERR, arg[iarg + 1], false, lmp);
    if (out_freq < 1)
      error->all(FLERR, "Illegal pair_style areanet command: out_freq {} must be >= 1 (steps)",
                 out_freq);
    freq_set = true;
    return 2;
  }
  if (strcmp(arg[iarg], "out_file") == 0) {
    if (iarg + 1 >= narg)
      error->all(FLERR, "Illegal pair_style areanet command: out_file needs a file name");
    out_file = arg[iarg + 1];
    file_set = true;
    return 2;
  }
  if (strcmp(arg[iarg], "atomic") == 0) {
    atomic = true;
    return 1;
  }
  if (strcmp(arg[iarg], "relative") == 0 || strcmp(arg[iarg], "relative_v") == 0) {
    const bool forces = strcmp(arg[iarg], "relative") == 0;
    const char *unit = forces ? "eV/A, added to |<F_i>|" : "eV per atom, added to |<W>|/N";
    if (iarg + 1 >= narg)
      error->all(FLERR, "Illegal pair_style areanet command: {} needs a level ({})", arg[iarg], unit);
    const double level = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
    if (!(level > 0.0) || !std::isfinite(level))
      error->all(FLERR, "Illegal pair_style areanet command: {} {} must be a positive level ({})",
                 arg[iarg], arg[iarg + 1], unit);
    (forces ? relative_f : relative_v) = level;
    return 2;
  }
  return 0;
}

/* ----------------------------------------------------------------------
   read the members (rank 0 reads each file, every rank parses the bytes)
   and check them against the first model
------------------------------------------------------------------------- */

void AreanetCommittee::load(const std::vector<std::string> &files, const std::string &first_file,
                            const areanet::ModelInfo &first, bool torchscript, bool float32,
                            int torch_threads)
{
  members.clear();
  for (const auto &file : files) {
    std::string bytes, reason;
    long long nbytes = -1;
    if (comm->me == 0) {
      FILE *in = fopen(file.c_str(), "rb");
      if (!in) {
        reason = utils::getsyserror();
      } else {
        char buffer[65536];
        size_t n;
        while ((n = fread(buffer, 1, sizeof(buffer), in)) > 0) bytes.append(buffer, n);
        if (ferror(in)) reason = utils::getsyserror();
        fclose(in);
        if (reason.empty()) nbytes = static_cast<long long>(bytes.size());
      }
    }
    MPI_Bcast(&nbytes, 1, MPI_LONG_LONG, 0, world);
    if (nbytes < 0)
      error->all(FLERR, "Pair areanet: cannot open committee model file {}: {}", file, reason);
    if (nbytes > (long long) 0x7fffffff)
      error->all(FLERR, "Pair areanet: committee model file {} is too large ({} bytes)", file,
                 nbytes);
    if (comm->me != 0) bytes.resize(nbytes);
    MPI_Bcast(&bytes[0], static_cast<int>(nbytes), MPI_CHAR, 0, world);

    auto member = std::make_unique<Member>();
    member->file = file;
    std::unique_ptr<areanet::NativeSpec> spec;
    std::string message, torch_reason;
    if (!areanet::read_model_file(bytes, file, torchscript, member->info, spec, torch_reason,
                                  message))
      error->all(FLERR, "Pair areanet: committee member {}", message);
    if (!spec) {
      const auto *api = areanet::torch_api(torch_reason, message);
      if (!api) error->all(FLERR, "Pair areanet: {}", message);
      api->set_num_threads(torch_threads);
      member->torch.reset(api->create());
      if (!member->torch->load(bytes, file, message)) error->all(FLERR, "Pair areanet: {}", message);
      member->info = member->torch->info();
      if (!torchscript) {    // an older export: its weights through libtorch, native evaluator
        spec = std::make_unique<areanet::NativeSpec>();
        std::string why;
        if (!member->torch->native_spec(*spec, why) || !spec->check().empty()) spec.reset();
      }
    }
    message = areanet::check_model_info(member->info, file);
    if (!message.empty()) error->all(FLERR, "Pair areanet: {}", message);

    // the committee shares the first model's contract

    const auto &info = member->info;
    auto join = [](const std::vector<std::string> &names) {
      std::string s;
      for (const auto &n : names) s += " " + n;
      return s;
    };
    if (info.species != first.species)
      error->all(FLERR,
                 "Pair areanet: committee model {} has species{}, the first model {} has "
                 "species{}: every model of a committee must declare the same species in the "
                 "same order",
                 file, join(info.species), first_file, join(first.species));
    if (info.cutoff != first.cutoff)
      error->all(FLERR,
                 "Pair areanet: committee model {} has cutoff {} A, the first model {} has {} A: "
                 "the models of a committee are evaluated on the same neighbours and must have "
                 "the same cutoff",
                 file, info.cutoff, first_file, first.cutoff);
    if (info.format_version != first.format_version)
      error->all(FLERR,
                 "Pair areanet: committee model {} has format version {}, the first model {} "
                 "has format version {}: a committee must be of one kind (all charged or all "
                 "local)",
                 file, info.format_version, first_file, first.format_version);
    if (areanet::is_charged(info) != areanet::is_charged(first) ||
        (areanet::is_charged(info) &&
         (info.species_charges != first.species_charges || info.charge_width != first.charge_width)))
      error->all(FLERR,
                 "Pair areanet: committee model {} has other species charges or charge width "
                 "than the first model {}: the long-range sheet Coulomb term is computed once, "
                 "for the first model, so the members must share it",
                 file, first_file);

    if (spec) {
      member->native = std::make_unique<areanet::NativeModel>(
          *spec, float32 ? areanet::NativeModel::FLOAT32 : areanet::NativeModel::FLOAT64);
      const char *block = std::getenv("AREANET_NATIVE_BLOCK");    // as for the first model
      if (block && std::atoi(block) > 0) member->native->set_block(std::atoi(block));
      member->torch.reset();
    } else if (float32) {
      error->all(FLERR, "Pair areanet: float32 needs the native evaluator, which cannot run "
                        "committee model {}", file);
    }
    members.push_back(std::move(member));
  }

  // DeePMD-kit's defaults: a committee writes model_devi.out every 100 steps; one model
  // writes only when asked (its deviations are zero)

  if (freq_set || file_set || !members.empty()) {
    if (!freq_set) out_freq = 100;
    if (!file_set) out_file = "model_devi.out";
  } else {
    out_freq = 0;
  }
}

/* ---------------------------------------------------------------------- */

std::string AreanetCommittee::describe() const
{
  std::string names;
  for (const auto &m : members)
    names += fmt::format(" {} ({})", m->file, m->native ? "native" : "TorchScript");
  return fmt::format("committee of {} model(s), the first drives the MD; members:{}; model "
                     "deviation every {} steps to {}{}",
                     size(), names.empty() ? " none" : names, out_freq, out_file,
                     atomic ? " with per-atom force deviations (atomic)" : "")
         + (relative_f > 0.0 ? fmt::format("; force deviations relative, level {} eV/A", relative_f) : "")
         + (relative_v > 0.0 ? fmt::format("; virial deviations relative, level {} eV", relative_v) : "");
}

/* ----------------------------------------------------------------------
   the deviation file, opened once per pair style (rank 0), DeePMD-kit's
   header; lines are flushed as they are written
------------------------------------------------------------------------- */

void AreanetCommittee::init()
{
  if (!active() || fp || comm->me != 0) return;
  fp = fopen(out_file.c_str(), "w");
  if (!fp)
    error->one(FLERR, "Pair areanet: cannot open the model deviation file {}: {}", out_file,
               utils::getsyserror());
  fmt::print(fp, "#{:>11}{:>19}{:>19}{:>19}{:>19}{:>19}{:>19}{}\n", "step", "max_devi_v",
             "min_devi_v", "avg_devi_v", "max_devi_f", "min_devi_f", "avg_devi_f",
             atomic ? "  atm_devi_f(N)" : "");
  fflush(fp);
}

/* ---------------------------------------------------------------------- */

bool AreanetCommittee::due() const
{
  return active() && (update->ntimestep % out_freq == 0 || trigger_flag);
}

/* ----------------------------------------------------------------------
   forces and virial of model m from its edge gradients (pair_areanet.h)
------------------------------------------------------------------------- */

void AreanetCommittee::accumulate(int m, const AreanetEdges &e, const double *grad)
{
  const int M = size();
  double *w = &virials[9 * m];
  for (int64_t k = 0; k < e.nedges; k++) {
    const int i = e.ilist[e.src[k]];
    const int j = e.atom[k];
    const double *g = &grad[3 * k];
    const double *r = &e.vec[3 * k];
    double *fi = &forces[(size_t) (i * M + m) * 3];
    double *fj = &forces[(size_t) (j * M + m) * 3];
    for (int c = 0; c < 3; c++) {
      fi[c] += g[c];
      fj[c] -= g[c];
    }
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) w[3 * a + b] -= r[a] * g[b];
  }
}

/* ---------------------------------------------------------------------- */

void AreanetCommittee::compute(Pair *pair, const AreanetEdges &e)
{
  if (!due()) return;

  const int M = size();
  const int nlocal = atom->nlocal;
  const int nall = nlocal + atom->nghost;
  forces.assign((size_t) nall * M * 3, 0.0);
  virials.assign(9 * M, 0.0);

  accumulate(0, e, e.de_dedge);
  member_energy.resize(e.inum + 1);
  member_grad.resize(3 * e.nedges + 3);
  for (int m = 1; m < M; m++) {
    auto &member = *members[m - 1];
    std::string message;
    bool ok = true;
    if (e.inum > 0 && member.native)
      ok = member.native->compute(e.inum, e.nedges, e.vec, e.src, e.spec, e.centre_spec,
                                  member_energy.data(), member_grad.data(), message);
    else if (e.inum > 0)
      ok = member.torch->compute(e.inum, e.nedges, const_cast<double *>(e.vec),
                                 const_cast<int64_t *>(e.src), const_cast<int64_t *>(e.spec),
                                 const_cast<int64_t *>(e.centre_spec), member_energy.data(),
                                 member_grad.data(), message);
    if (!ok)
      error->one(FLERR, "Pair areanet: committee model {} failed at step {}: {}", member.file,
                 update->ntimestep, message);
    if (e.inum > 0) accumulate(m, e, member_grad.data());
  }

  // the ghosts' forces to their owners

  comm->reverse_comm(pair);

  // e_i of the owned atoms

  if (atom->nmax > nmax) nmax = atom->nmax;
  devi.resize(nmax);
  double fmax = 0.0, fmin = std::numeric_limits<double>::infinity(), fsum = 0.0;
  for (int i = 0; i < nlocal; i++) {
    const double *f = &forces[(size_t) i * M * 3];
    double mean[3] = {0.0, 0.0, 0.0};
    for (int m = 0; m < M; m++)
      for (int c = 0; c < 3; c++) mean[c] += f[3 * m + c];
    for (int c = 0; c < 3; c++) mean[c] /= M;
    double var = 0.0;
    for (int m = 0; m < M; m++)
      for (int c = 0; c < 3; c++) {
        const double d = f[3 * m + c] - mean[c];
        var += d * d;
      }
    devi[i] = std::sqrt(var / M);
    if (relative_f > 0.0)
      devi[i] /= std::sqrt(mean[0] * mean[0] + mean[1] * mean[1] + mean[2] * mean[2]) + relative_f;
    fmax = std::max(fmax, devi[i]);
    fmin = std::min(fmin, devi[i]);
    fsum += devi[i];
  }

  // the file: one line per out_freq step (not for steps only fix pair asked for)

  if (update->ntimestep % out_freq != 0 || update->ntimestep == last_written) return;
  last_written = update->ntimestep;
  std::vector<double> virial_all(9 * M);
  double fmax_all, fmin_all, fsum_all;
  MPI_Reduce(virials.data(), virial_all.data(), 9 * M, MPI_DOUBLE, MPI_SUM, 0, world);
  MPI_Reduce(&fmax, &fmax_all, 1, MPI_DOUBLE, MPI_MAX, 0, world);
  MPI_Reduce(&fmin, &fmin_all, 1, MPI_DOUBLE, MPI_MIN, 0, world);
  MPI_Reduce(&fsum, &fsum_all, 1, MPI_DOUBLE, MPI_SUM, 0, world);
  write_line(virial_all.data(), fmax_all, fmin_all, fsum_all);
}

/* ----------------------------------------------------------------------
   one line of the deviation file (rank 0 writes, every rank takes part in
   gathering the per-atom values of `atomic`)
------------------------------------------------------------------------- */

void AreanetCommittee::write_line(const double *virial_all, double fmax, double fmin, double fsum)
{
  const int M = size();
  const bigint natoms = atom->natoms;
  std::string line;
  if (comm->me == 0) {
    double vmax = 0.0, vmin = std::numeric_limits<double>::infinity(), vsq = 0.0;
    double scale = 1.0;    // relative_v: |<W>|/N + level
    if (relative_v > 0.0) {
      double norm2 = 0.0;
      for (int k = 0; k < 9; k++) {
        double mean = 0.0;
        for (int m = 0; m < M; m++) mean += virial_all[9 * m + k];
        norm2 += (mean / M) * (mean / M);
      }
      scale = std::sqrt(norm2) / static_cast<double>(natoms) + relative_v;
    }
    for (int k = 0; k < 9; k++) {
      double mean = 0.0, var = 0.0;
      for (int m = 0; m < M; m++) mean += virial_all[9 * m + k];
      mean /= M;
      for (int m = 0; m < M; m++) {
        const double d = virial_all[9 * m + k] - mean;
        var += d * d;
      }
      const double s = std::sqrt(var / M) / static_cast<double>(natoms) / scale;
      vmax = std::max(vmax, s);
      vmin = std::min(vmin, s);
      vsq += s * s;
    }
    line = fmt::format("{:>12} {:>18.12e} {:>18.12e} {:>18.12e} {:>18.12e} {:>18.12e} {:>18.12e}",
                       update->ntimestep, vmax, vmin, std::sqrt(vsq) / 3.0, fmax, fmin,
                       natoms > 0 ? fsum / static_cast<double>(natoms) : 0.0);
  }

  if (atomic) {    // e_i in atom-ID order: every rank's (ID, e_i) to rank 0
    const int nlocal = atom->nlocal;
    std::vector<double> mine(2 * nlocal);
    for (int i = 0; i < nlocal; i++) {
      mine[2 * i] = static_cast<double>(atom->tag[i]);
      mine[2 * i + 1] = devi[i];
    }
    const std::vector<double> all =
        areanet::gather_to_root(mine, MPI_DOUBLE, comm->me, comm->nprocs, world);
    const int total = static_cast<int>(all.size());
    if (comm->me == 0) {
      std::vector<std::pair<double, double>> byid(total / 2);
      for (int k = 0; k < total / 2; k++) byid[k] = {all[2 * k], all[2 * k + 1]};
      std::sort(byid.begin(), byid.end());
      for (const auto &p : byid) line += fmt::format(" {:>18.12e}", p.second);
    }
  }

  if (comm->me == 0 && fp) {
    fmt::print(fp, "{}\n", line);
    fflush(fp);
  }
}

/* ----------------------------------------------------------------------
   reverse communication: the M models' forces on ghost atoms
------------------------------------------------------------------------- */

int AreanetCommittee::pack_reverse_comm(int n, int first, double *buf)
{
  const int width = 3 * size();
  int k = 0;
  for (int i = first; i < first + n; i++)
    for (int c = 0; c < width; c++) buf[k++] = forces[(size_t) i * width + c];
  return k;
}

void AreanetCommittee::unpack_reverse_comm(int n, int *list, double *buf)
{
  const int width = 3 * size();
  int k = 0;
  for (int ii = 0; ii < n; ii++) {
    const int j = list[ii];
    for (int c = 0; c < width; c++) forces[(size_t) j * width + c] += buf[k++];
  }
}

/* ----------------------------------------------------------------------
   e_i of the last evaluation, indexed like the owned atoms (fix pair
   copies nlocal values right after an evaluated step)
------------------------------------------------------------------------- */

double *AreanetCommittee::peratom()
{
  if (atom->nmax > nmax) nmax = atom->nmax;
  if ((int) devi.size() < nmax) devi.resize(nmax, 0.0);
  return devi.data();
}
