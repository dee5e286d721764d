/* ----------------------------------------------------------------------
   areanet: area-element neural-network potential for h-BN.
   A native C++ implementation of the model contract (DESIGN.md section 5)
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

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace areanet {

// Everything the native evaluator needs, as read from an AreaNet model file (names as in
// potential/model.py; stored as areanet_native.bin by potential/export.py, whose array list
// changes with this struct).
struct NativeSpec {
  double cutoff = 0.0;
  std::vector<std::string> species;     // [S]
  int dims = 3;                         // 2 or 3 coordinates per vertex
  bool low_order = false;               // 6 low-order vertices instead of 12
  std::vector<int> frame_ref;           // [F] reference first-shell atom k
  std::vector<double> frame_sy;         // [F] sign of y
  std::vector<double> frame_sz;         // [F] sign of z
  std::vector<int> frame_order;         // [F*12] canonical slot of vertex A..L
  std::vector<double> low_order_matrix; // [6*12]
  std::vector<int> is_centre;           // [S]
  std::vector<double> feature_mean;     // [S*n_features]
  std::vector<double> feature_std;      // [S*n_features]
  std::vector<double> ref_energy;       // [S]
  double energy_scale = 1.0;
  enum Activation { SILU, TANH, LEAKY_RELU };
  Activation activation = SILU;
  double negative_slope = 0.01;         // LeakyReLU
  struct Layer {
    int n_in = 0, n_out = 0;
    std::vector<double> weight;         // [n_out*n_in], torch.nn.Linear layout
    std::vector<double> bias;           // [n_out]
  };
  std::vector<std::vector<Layer>> mlps; // [S][layers]

  int n_frames() const { return static_cast<int>(frame_ref.size()); }
  int n_vertices() const { return low_order ? 6 : 12; }
  int n_features() const { return n_vertices() * dims; }
  // Empty if the tables and layers are consistent, else what is wrong.
  std::string check() const;
};

class NativeModel {
 public:
  enum Precision { FLOAT64, FLOAT32 };

  NativeModel(const NativeSpec &spec, Precision precision);
  ~NativeModel();
  NativeModel(const NativeModel &) = delete;
  NativeModel &operator=(const NativeModel &) = delete;

  // The contract of DESIGN.md section 5 (see Model::compute): returns false and sets
  // `error` to the model's message (naming a centre index) when an element is incomplete.
  bool compute(int64_t ncentres, int64_t nedges, const double *edge_vec, const int64_t *edge_src,
               const int64_t *edge_spec, const int64_t *spec, double *atom_energy,
               double *de_dedge, std::string &error);

  // "float64, AVX2+FMA kernels" etc., for the log.
  std::string describe() const;
  double memory_usage() const;

  // Elements per block of the MLP pass (rows = block × frames); for tuning.
  void set_block(int elements);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}    // namespace areanet

#endif
