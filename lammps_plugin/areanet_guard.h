/* -*- c++ -*- ----------------------------------------------------------
   areanet: the domain guard of pair_style areanet -- no silent
   extrapolation.

   pair_style areanet [guard yes|no] [guard_margin DELTA]

   `areanet export` stores in the model file the training domain: per
   centre species, the range [lo_j, hi_j] over the training data of every
   network input (the vertex coordinates of the area element in each local
   frame) and of the mean distance of each of the three shells
   (potential/domain.py).  At every step the native evaluator finds for
   each atom its excess beyond those ranges,

     excess_i = max_j max(lo_j - x_ij, x_ij - hi_j, 0)     (Angstrom)

   and an atom with excess_i > DELTA (default 0.02 A) is outside the
   training domain: the model extrapolates there.  MD goes on; the log says
   so once per run (the step, how many atoms, the first atom ID, the
   descriptor and its excess) and at the end of the run gives the summary:
   how many steps had atoms outside, how many distinct atoms were outside,
   the first (step, atom ID) and the largest excess.  Inside the domain the
   guard is silent.  The per-atom excess of the last step is
   `extract_peratom` field domain_excess (for fix pair, dump):
     fix dom all pair 1 areanet domain_excess 0

   The guard needs the native evaluator (not `torchscript`) and a model
   file that stores its domain (exported since the guard exists; older
   files: `areanet export old.pt -o new.pt` adds it); otherwise the log
   says at pair_coeff why it is off.  It checks the first model, the one
   that drives the MD.  Cost: one comparison per feature and frame of each
   element, and one MPI_Allreduce of an integer per step.
------------------------------------------------------------------------- */

#ifndef LMP_AREANET_GUARD_H
#define LMP_AREANET_GUARD_H

#include "pointers.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace areanet {
class NativeModel;
}

namespace LAMMPS_NS {

class AreanetGuard : protected Pointers {
 public:
  static constexpr double DEFAULT_MARGIN = 0.02;    // Angstrom

  AreanetGuard(class LAMMPS *);

  // pair_style keywords guard yes|no, guard_margin DELTA: the number of arguments used at
  // arg[iarg], 0 if arg[iarg] is neither; reset() restores the defaults first.
  void reset();
  int parse(int narg, char **arg, int iarg);

  // pair_coeff: the first model's evaluator (null on the torchscript path); says in the log
  // whether the guard is on and why not.
  void setup(areanet::NativeModel *native, const std::string &model_file, const std::string &why_not);
  bool on() const { return native != nullptr; }

  void start_run();    // init_style: a new run, new counts
  // after the first model's compute(): the excess of the owned atoms of ilist
  void check(int inum, const int *ilist);
  void summary();      // at the end of a run (Pair::finish)

  double *peratom();   // excess_i of owned atoms, domain_excess of fix pair

 private:
  bool wanted;
  double margin;
  areanet::NativeModel *native;
  std::string model_file;

  bigint steps, steps_out, atom_steps, first_step, last_step;
  tagint first_atom;
  double largest;
  bigint largest_step;
  bool reported;
  std::set<tagint> seen;    // IDs of this rank's atoms found outside in this run
  int nmax;
  std::vector<double> excess;    // [nmax]
};

}    // namespace LAMMPS_NS

#endif
