/* ----------------------------------------------------------------------
   areanet: the domain guard of pair_style areanet (what it checks and
   says in areanet_guard.h).
------------------------------------------------------------------------- */

#include "areanet_guard.h"

#include "areanet_gather.h"

#include "areanet_native.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "update.h"

#include <algorithm>
#include <cstring>

using namespace LAMMPS_NS;

/* ---------------------------------------------------------------------- */

AreanetGuard::AreanetGuard(LAMMPS *lmp) :
    Pointers(lmp), wanted(true), margin(DEFAULT_MARGIN), native(nullptr), nmax(0)
{
  start_run();
}

/* ----------------------------------------------------------------------
   guard yes|no | guard_margin DELTA
------------------------------------------------------------------------- */

void AreanetGuard::reset()
{
  wanted = true;
  margin = DEFAULT_MARGIN;
}

int AreanetGuard::parse(int narg, char **arg, int iarg)
{
  if (strcmp(arg[iarg], "guard") == 0) {
    if (iarg + 1 >= narg)
      error->all(FLERR, "Illegal pair_style areanet command: guard needs yes or no");
    wanted = utils::logical(FLERR, arg[iarg + 1], false, lmp) == 1;
    return 2;
  }
  if (strcmp(arg[iarg], "guard_margin") == 0) {
    if (iarg + 1 >= narg)
      error->all(FLERR, "Illegal pair_style areanet command: guard_margin needs a distance (A)");
    margin = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
    if (!(margin >= 0.0))
      error->all(FLERR,
                 "Illegal pair_style areanet command: guard_margin {} must be >= 0 (Angstrom)",
                 arg[iarg + 1]);
    return 2;
  }
  return 0;
}

/* ---------------------------------------------------------------------- */

void AreanetGuard::setup(areanet::NativeModel *model, const std::string &file,
                         const std::string &why_not)
{
  native = nullptr;
  model_file = file;
  std::string state;
  if (!wanted) {
    state = "off (pair_style areanet guard no)";
  } else if (!model) {
    state = "off: it needs the native evaluator (" + why_not + ")";
  } else if (!model->has_domain()) {
    state = fmt::format("off: model file {} stores no training domain (exported before the "
                        "guard existed, or without its training data); `areanet export {} -o "
                        "new.pt` adds it from the training data its metadata names",
                        file, file);
  } else {
    native = model;
    state = fmt::format("on: an atom whose area element leaves the training ranges of model {} "
                        "by more than {} A is reported (guard_margin)",
                        file, margin);
  }
  if (model) model->set_domain_check(native != nullptr);
  if (comm->me == 0) utils::logmesg(lmp, "areanet: domain guard {}\n", state);
}

/* ---------------------------------------------------------------------- */

void AreanetGuard::start_run()
{
  steps = steps_out = atom_steps = 0;
  first_step = last_step = largest_step = -1;
  first_atom = 0;
  largest = 0.0;
  reported = false;
  seen.clear();
}

/* ----------------------------------------------------------------------
   the excess of every owned atom after the first model's compute(); one
   integer reduction per step, more only on steps with atoms outside
------------------------------------------------------------------------- */

void AreanetGuard::check(int inum, const int *ilist)
{
  if (!native) return;
  if (atom->nmax > nmax) nmax = atom->nmax;
  if ((int) excess.size() < nmax) excess.resize(nmax);
  std::fill(excess.begin(), excess.begin() + atom->nlocal, 0.0);

  const double *ex = native->domain_excess();
  const tagint *tag = atom->tag;
  int count = 0;
  double worst = 0.0;
  tagint first = MAXTAGINT;
  for (int ii = 0; ii < inum; ii++) {
    const int i = ilist[ii];
    excess[i] = ex[ii];
    if (ex[ii] <= margin) continue;
    count++;
    worst = std::max(worst, ex[ii]);
    first = std::min(first, tag[i]);
    seen.insert(tag[i]);
  }
  if (update->ntimestep != last_step) steps++;
  const bool new_step = update->ntimestep != last_step;
  last_step = update->ntimestep;

  int count_all = 0;
  MPI_Allreduce(&count, &count_all, 1, MPI_INT, MPI_SUM, world);
  if (count_all == 0) return;
  if (new_step) steps_out++;
  atom_steps += count_all;
  double worst_all = 0.0;
  MPI_Allreduce(&worst, &worst_all, 1, MPI_DOUBLE, MPI_MAX, world);
  if (worst_all > largest) {
    largest = worst_all;
    largest_step = update->ntimestep;
  }
  if (reported) return;

  // the first time in this run: the atom with the lowest ID, what left and by how much

  tagint first_all = MAXTAGINT;
  MPI_Allreduce(&first, &first_all, 1, MPI_LMP_TAGINT, MPI_MIN, world);
  double what[3] = {0.0, -1.0, 0.0};    // excess, descriptor, type of that atom
  for (int ii = 0; ii < inum; ii++)
    if (tag[ilist[ii]] == first_all) {
      what[0] = ex[ii];
      what[1] = native->domain_feature()[ii];
      what[2] = atom->type[ilist[ii]];
    }
  int mine = first == first_all ? comm->me : comm->nprocs, owner = 0;
  MPI_Allreduce(&mine, &owner, 1, MPI_INT, MPI_MIN, world);
  MPI_Bcast(what, 3, MPI_DOUBLE, owner, world);
  first_step = update->ntimestep;
  first_atom = first_all;
  reported = true;
  if (comm->me == 0)
    error->warning(FLERR,
                   "areanet domain guard: at step {} {} atom(s) are outside the training domain "
                   "of model {} (excess > {} A); for the first, atom ID {} (type {}), {} lies "
                   "{:.4g} A outside its training range: the model extrapolates there. MD goes "
                   "on; this is said once per run, a summary follows at its end",
                   update->ntimestep, count_all, model_file, margin, first_all,
                   static_cast<int>(what[2]), native->feature_name(static_cast<int>(what[1])),
                   what[0]);
}

/* ----------------------------------------------------------------------
   end of a run: what left the domain, or nothing if nothing did
------------------------------------------------------------------------- */

void AreanetGuard::summary()
{
  if (!native || !reported) return;

  // distinct atoms: the union of every rank's IDs (atoms move between ranks)

  std::vector<tagint> mine(seen.begin(), seen.end());
  const std::vector<tagint> all =
      areanet::gather_to_root(mine, MPI_LMP_TAGINT, comm->me, comm->nprocs, world);
  if (comm->me != 0) return;
  std::set<tagint> distinct(all.begin(), all.end());
  utils::logmesg(lmp,
                 "areanet domain guard summary: {} of {} steps had atoms outside the training "
                 "domain of model {} (excess > {} A); {} distinct atom(s), {} atom-steps; first at "
                 "step {}, atom ID {}; largest excess {:.4g} A at step {}\n",
                 steps_out, steps, model_file, margin, distinct.size(), atom_steps, first_step,
                 first_atom, largest, largest_step);
}

/* ---------------------------------------------------------------------- */

double *AreanetGuard::peratom()
{
  if (atom->nmax > nmax) nmax = atom->nmax;
  if ((int) excess.size() < nmax) excess.resize(nmax, 0.0);
  return excess.data();
}
