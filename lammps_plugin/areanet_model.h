/* ----------------------------------------------------------------------
   areanet: area-element neural-network potential for h-BN.
   The TorchScript side of pair_style areanet.

   This header deliberately includes no torch and no LAMMPS header: LAMMPS
   and libtorch each ship their own copy of the fmt library (10.2 and 12.1,
   with the same include guards), so the two are kept in separate
   translation units and meet only through this plain C++ interface.  No function here throws: every libtorch exception is
   caught inside and returned as a message for the pair style to report
   through LAMMPS' error class.
------------------------------------------------------------------------- */

#ifndef AREANET_MODEL_H
#define AREANET_MODEL_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace areanet {

struct NativeSpec;

// The model file format this plugin reads (attribute `format_version`).
constexpr int FORMAT_VERSION = 1;

// What the model declares about itself (TorchScript attributes + extra file).
struct ModelInfo {
  int format_version = -1;
  double cutoff = 0.0;                 // Angstrom
  std::vector<std::string> species;    // model species index -> element name
  std::string units;                   // LAMMPS unit style, "metal"
  std::string metadata_json;           // extra file "metadata.json" ("" if absent)
};

class Model {
 public:
  Model();
  ~Model();
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  // Load a TorchScript archive from its bytes (read by the caller, so that one
  // MPI rank reads the file and broadcasts it).  On failure returns false and
  // sets `error`.  `source` names the file in messages.
  bool load(const std::string &bytes, const std::string &source, std::string &error);
  const ModelInfo &info() const { return info_; }

  // Evaluate the contract of DESIGN.md section 5 on caller-owned float64/int64
  // buffers (wrapped, not copied):
  //   edge_vec  [nedges,3]  r_j - r_i
  //   edge_src  [nedges]    centre index i in [0, ncentres)
  //   edge_spec [nedges]    model species of j
  //   spec      [ncentres]  model species of each centre
  // and copy the results into atom_energy [ncentres] and de_dedge [nedges,3].
  // On failure (e.g. an atom without a complete area element) returns false
  // and sets `error` to the model's message, without TorchScript traceback.
  bool compute(int64_t ncentres, int64_t nedges, double *edge_vec, int64_t *edge_src,
               int64_t *edge_spec, int64_t *spec, double *atom_energy, double *de_dedge,
               std::string &error);

  // Read what the native evaluator (areanet_native.h) needs out of an AreaNet module.
  // Returns false, with the reason in `why`, for any other module obeying the contract
  // (the pair style then runs its forward()).
  bool native_spec(NativeSpec &spec, std::string &why) const;

  // Intra-op threads of libtorch for this process (one per MPI rank by default).
  static void set_num_threads(int nthreads);
  static int get_num_threads();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ModelInfo info_;
};

}    // namespace areanet

#endif
