/* ----------------------------------------------------------------------
   areanet: area-element neural-network potential for h-BN.
   A native C++ implementation of the model contract (areanet_spec.h)
   for the AreaNet models that `areanet export` writes.

   The TorchScript module stays the model file and the reference: the plugin
   reads the weights and tables from the file's extra areanet_native.bin,
   written by `areanet export` (areanet_archive.h; for older files through
   libtorch, areanet_model.cpp, Model::native_spec) and evaluates the very
   same function here without libtorch -- the shell
   finder, the local frames, the MLPs and their gradient written out by hand
   (forward pass, then the analytic backward pass of the MLP and of the frame
   geometry), in blocks of elements that stay in cache.  This is the default
   of pair_style areanet; `pair_style areanet torchscript` runs the module's
   forward() instead (same numbers to rounding, checked by the plugin tests).

   No torch and no LAMMPS header here: this is plain C++17.
------------------------------------------------------------------------- */

#ifndef AREANET_NATIVE_H
#define AREANET_NATIVE_H

#include "areanet_spec.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace areanet {

class NativeModel {
 public:
  enum Precision { FLOAT64, FLOAT32 };

  NativeModel(const NativeSpec &spec, Precision precision);
  ~NativeModel();
  NativeModel(const NativeModel &) = delete;
  NativeModel &operator=(const NativeModel &) = delete;

  // The model contract (see Model::compute): returns false and sets
  // `error` to the model's message (naming a centre index) when an element is incomplete.
  bool compute(int64_t ncentres, int64_t nedges, const double *edge_vec, const int64_t *edge_src,
               const int64_t *edge_spec, const int64_t *spec, double *atom_energy,
               double *de_dedge, std::string &error);

  // "float64, AVX2+FMA kernels" etc., for the log.
  std::string describe() const;
  double memory_usage() const;

  // Elements per block of the MLP pass (rows = block × frames); for tuning.
  void set_block(int elements);

  // The domain guard (areanet_guard.h).  With set_domain_check(true) and a model file that
  // stores its training domain (NativeSpec::domain_min/max, potential/domain.py), every
  // compute() also finds how far each centre leaves the training ranges, the worst over its
  // descriptors j (the features of every frame, unstandardised, then the mean distance of
  // each shell; Angstrom):
  //   excess_i = max_j max(lo_sj - x_j, x_j - hi_sj, 0)
  // and the descriptor j that gives it; centres inside have excess 0 and descriptor -1.
  bool has_domain() const;
  void set_domain_check(bool on);
  const double *domain_excess() const;    // [ncentres] of the last compute()
  const int *domain_feature() const;      // [ncentres] of the last compute()
  std::string feature_name(int j) const;  // what descriptor j is, for messages

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}    // namespace areanet

#endif
