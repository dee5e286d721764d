/* -*- c++ -*- ----------------------------------------------------------
   areanet: the model committee of pair_style areanet -- the model
   deviation of DeePMD-kit's pair_style deepmd, for active learning.

   pair_style areanet out_freq 10 out_file model_devi.out [atomic]
                      [relative LEVEL] [relative_v LEVEL]
   pair_coeff * * m0.pt m1.pt m2.pt m3.pt B N

   MD runs with the first model (m0: energy, forces, virial).  Every
   out_freq steps (step 0 included), and on the steps `fix pair` asks for
   (its trigger model_devi_flag), all M models are evaluated on the same
   edges and their forces F_m,i and virials W_m compared:

     force deviation of atom i   e_i = sqrt( <|F_m,i - <F_i>|^2> )
     virial deviation            s_ab = sqrt( <(W_m,ab - <W_ab>)^2> ) / N
                                 (a, b = x, y, z: all 9 components)

   with <.> the mean over the M models (1/M, not 1/(M-1)) and N the number
   of atoms.  Per evaluated out_freq step rank 0 writes one line of
   out_file (DeePMD-kit's layout, so DP-GEN-style tools read it unchanged):

     step  max_devi_v  min_devi_v  avg_devi_v  max_devi_f  min_devi_f  avg_devi_f

   max/min over the 9 components s_ab and avg = sqrt(sum_ab s_ab^2)/3 (their
   root mean square); max/min/mean over the atoms of e_i; with `atomic` the
   line goes on with e_i of every atom in atom-ID order.  Values in eV/A
   (forces) and eV (virial per atom), with 13 significant digits in the
   same columns as DeePMD-kit's 7.  W_m is the virial of model m's local
   part, W_ab = -sum_edges r_a g_b (pair_areanet.h); F_m,i its forces.  A
   charged model's long-range sheet Coulomb term is the same function of
   the positions for every member (equal charges and width are required),
   so it cancels in every difference and is not evaluated again.

   DeePMD-kit's relative deviations: with `relative L` (eV/A) each e_i is
   divided by |<F_i>| + L, so that atoms under large forces are judged by
   the fraction they disagree on; with `relative_v L` (eV per atom) each
   s_ab by |<W>|/N + L, |<W>| the Frobenius norm of the mean virial (of the
   local parts, like W_m: for a charged model it leaves out the long-range
   term's virial, which is not tallied on every step).  The file, `atomic`
   and model_devi then hold the relative values.

   The per-atom e_i of the last evaluation is `extract_peratom` field
   model_devi, for fix pair (dump, compute reduce, fix halt):
     fix devi all pair 10 areanet model_devi 1

   Members must declare the first model's species (same order), cutoff,
   format version and charges; anything else stops at pair_coeff naming the
   file and the difference.  Their forces on ghost atoms come back to the
   owners by the pair style's reverse communication (3 M doubles per atom),
   once per evaluated step; the other steps cost nothing extra.
------------------------------------------------------------------------- */

#ifndef LMP_AREANET_COMMITTEE_H
#define LMP_AREANET_COMMITTEE_H

#include "pointers.h"

#include "areanet_model.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace areanet {
class NativeModel;
}

namespace LAMMPS_NS {

// What pair_style areanet built for its first model this step (pair_areanet.h).
struct AreanetEdges {
  int inum;
  const int *ilist;
  int64_t nedges;
  const double *vec;             // [nedges*3] r_j - r_i
  const int64_t *src;            // [nedges] centre index (position in ilist)
  const int64_t *spec;           // [nedges] model species of j
  const int *atom;               // [nedges] LAMMPS index of j
  const int64_t *centre_spec;    // [inum]
  const double *de_dedge;        // [nedges*3] the first model's dE/dr_ij
};

class AreanetCommittee : protected Pointers {
 public:
  AreanetCommittee(class LAMMPS *);
  ~AreanetCommittee() override;

  // pair_style keywords out_freq N, out_file FILE, atomic, relative L, relative_v L: the
  // number of arguments used
  // at arg[iarg], 0 if arg[iarg] is none of them; reset() restores the defaults first.
  void reset();
  int parse(int narg, char **arg, int iarg);

  // The members after the first model (pair_coeff), read as the pair style read the first
  // (`torchscript`: their forward() through libtorch; `float32`: native MLP in float32).
  void load(const std::vector<std::string> &files, const std::string &first_file,
            const areanet::ModelInfo &first, bool torchscript, bool float32, int torch_threads);

  bool active() const { return out_freq > 0; }
  int size() const { return 1 + static_cast<int>(members.size()); }
  std::string describe() const;    // for the log

  void init();                     // at init_style: opens out_file once (rank 0)
  bool due() const;                // this step is evaluated

  // Evaluate the members on the first model's edges and write the deviations (if due).
  void compute(class Pair *pair, const AreanetEdges &edges);

  int pack_reverse_comm(int n, int first, double *buf);
  void unpack_reverse_comm(int n, int *list, double *buf);
  int comm_size() const { return 3 * size(); }

  int *trigger() { return &trigger_flag; }    // model_devi_flag of fix pair
  double *peratom();                           // e_i of owned atoms, model_devi of fix pair

 private:
  struct Member;
  std::vector<std::unique_ptr<Member>> members;

  int out_freq;          // 0 = no committee output (one model, no keywords)
  bool freq_set, file_set;
  std::string out_file;
  bool atomic;
  double relative_f;     // DeePMD-kit's `relative` level (eV/A), < 0: absolute deviations
  double relative_v;     // its `relative_v` level (eV per atom), < 0: absolute
  FILE *fp;
  int trigger_flag;
  bigint last_written;   // the step of the last line (a run's setup repeats the last step)

  int nmax;                      // atoms the per-atom arrays hold
  std::vector<double> forces;    // [nall][M][3] every model's forces
  std::vector<double> virials;   // [M][9]
  std::vector<double> devi;      // [nmax] e_i
  std::vector<double> member_energy, member_grad;

  void accumulate(int m, const AreanetEdges &edges, const double *grad);
  void write_line(const double *virial_all, double fmax, double fmin, double fsum);
};

}    // namespace LAMMPS_NS

#endif
