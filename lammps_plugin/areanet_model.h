/* ----------------------------------------------------------------------
   areanet: area-element neural-network potential for h-BN.
   The TorchScript side of pair_style areanet, as seen by the plugin.

   areanet_model.cpp is built into its own library, libareanet_torch.so
   (linked to libtorch), installed next to the plugin.  The plugin itself
   does not link libtorch: it dlopen()s that library only when TorchScript
   is needed (pair_style areanet torchscript, or a model file without the
   native extra, see areanet_archive.h), so the default native path never
   maps libtorch (~100 MB of resident memory per rank).  The two meet
   through TorchApi, the one symbol the library exports, and the abstract
   class Model below.

   This header deliberately includes no torch and no LAMMPS header: LAMMPS
   and libtorch each ship their own copy of the fmt library (10.2 and 12.1,
   with the same include guards), so the two are kept in separate
   translation units and meet only through this plain C++ interface.  No
   function here throws: every libtorch exception is caught inside and
   returned as a message for the pair style to report through LAMMPS'
   error class.
------------------------------------------------------------------------- */

#ifndef AREANET_MODEL_H
#define AREANET_MODEL_H

#include "areanet_spec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace areanet {

// A TorchScript model file, loaded by libtorch (created by TorchApi::create).
class Model {
 public:
  virtual ~Model() = default;

  // Load a TorchScript archive from its bytes (read by the caller, so that one
  // MPI rank reads the file and broadcasts it).  On failure returns false and
  // sets `error`.  `source` names the file in messages.
  virtual bool load(const std::string &bytes, const std::string &source, std::string &error) = 0;
  virtual const ModelInfo &info() const = 0;

  // Evaluate the model contract (areanet_spec.h) on caller-owned float64/int64
  // buffers (wrapped, not copied):
  //   edge_vec  [nedges,3]  r_j - r_i
  //   edge_src  [nedges]    centre index i in [0, ncentres)
  //   edge_spec [nedges]    model species of j
  //   spec      [ncentres]  model species of each centre
  // and copy the results into atom_energy [ncentres] and de_dedge [nedges,3].
  // On failure (e.g. an atom without a complete area element) returns false
  // and sets `error` to the model's message, without TorchScript traceback.
  virtual bool compute(int64_t ncentres, int64_t nedges, double *edge_vec, int64_t *edge_src,
                       int64_t *edge_spec, int64_t *spec, double *atom_energy, double *de_dedge,
                       std::string &error) = 0;

  // Read what the native evaluator (areanet_native.h) needs out of an AreaNet module (for
  // model files without the native extra).  Returns false, with the reason in `why`, for
  // any other module obeying the contract (the pair style then runs its forward()).  The
  // caller checks the tables' consistency (NativeSpec::check, which lives in the plugin).
  virtual bool native_spec(NativeSpec &spec, std::string &why) const = 0;
};

// The libstdc++ string ABI of this translation unit (-1: not libstdc++).
#ifdef _GLIBCXX_USE_CXX11_ABI
constexpr int CXX11_ABI = _GLIBCXX_USE_CXX11_ABI;
#else
constexpr int CXX11_ABI = -1;
#endif

// Bumped whenever TorchApi, Model, ModelInfo or NativeSpec change layout.
constexpr int TORCH_INTERFACE_VERSION = 3;

// What libareanet_torch.so hands the plugin.  std::string and std::vector cross the
// boundary, so both sides must use the same libstdc++ string ABI (cxx11_abi, checked).
struct TorchApi {
  int interface_version;                 // TORCH_INTERFACE_VERSION of the library
  int cxx11_abi;                         // its CXX11_ABI
  Model *(*create)();                    // a new model; load() it
  void (*set_num_threads)(int nthreads); // libtorch intra-op threads of this process
  int (*get_num_threads)();
};

}    // namespace areanet

// The library's one exported symbol (looked up with dlsym).
#define AREANET_TORCH_LIBRARY "libareanet_torch.so"
#define AREANET_TORCH_ENTRY "areanet_torch_api"
extern "C" const areanet::TorchApi *areanet_torch_api();

#endif
