/* ----------------------------------------------------------------------
   areanet: area-element neural-network potential for h-BN.
   The shared description of a model, as every part of the plugin sees it.

   ModelInfo is what a model file declares about itself (its contract
   attributes and metadata), NativeSpec everything the native evaluator
   needs (its tables and weights).  They are filled by the zip reader from
   the file's areanet_native.bin (areanet_archive.h) or, for older files,
   through libtorch (areanet_model.h), and used by the native evaluator
   (areanet_native.h) and the pair style.  The model itself is the
   TorchScript contract of potential/model.py:
     forward(edge_vec [E,3], edge_src [E], edge_spec [E], spec [n])
       -> (atom_energy [n], dE_dedge [E,3])
   Plain C++17: no torch, no LAMMPS header, so that every translation unit
   can include it.
------------------------------------------------------------------------- */

#ifndef AREANET_SPEC_H
#define AREANET_SPEC_H

#include <string>
#include <vector>

namespace areanet {

// The model file formats this plugin reads (attribute `format_version`): 1, and 2 = 1 plus
// the long-range sheet Coulomb of a charged model (species_charges, charge_width; see
// areanet_coulomb.h), which a host without that term must refuse.
constexpr int FORMAT_VERSION = 1;
constexpr int CHARGED_FORMAT_VERSION = 2;

// What the model declares about itself (TorchScript attributes or the native extra, plus
// the extra file metadata.json).
struct ModelInfo {
  int format_version = -1;
  double cutoff = 0.0;                 // Angstrom
  std::vector<std::string> species;    // model species index -> element name
  std::string units;                   // LAMMPS unit style, "metal"
  std::string metadata_json;           // extra file "metadata.json" ("" if absent)
  // the long-range sheet Coulomb (attributes species_charges: List[float], charge_width:
  // float; native arrays of the same names); empty / 0 = uncharged (files before the term)
  std::vector<double> species_charges;    // e, per model species
  double charge_width = 0.0;              // Angstrom
};

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
  // the training domain (optional, empty = the file has none): per species, the range over
  // the training data of every feature (unstandardised, all frames), then of the mean
  // distance of the first, second and third shell (potential/domain.py; Angstrom)
  std::vector<double> domain_min;      // [S*(n_features+3)]
  std::vector<double> domain_max;      // [S*(n_features+3)]

  int n_frames() const { return static_cast<int>(frame_ref.size()); }
  int n_vertices() const { return low_order ? 6 : 12; }
  int n_features() const { return n_vertices() * dims; }
  int n_domain() const { return n_features() + 3; }
  bool has_domain() const { return !domain_min.empty(); }
  // Empty if the tables and layers are consistent, else what is wrong.
  std::string check() const;
};

// Empty if what a model file declares can be run by pair_style areanet (format version,
// units, cutoff, species, charges), else the reason; `file` names it in the message.
std::string check_model_info(const ModelInfo &info, const std::string &file);

// True if the model declares a non-zero species charge (the long-range sheet Coulomb).
bool is_charged(const ModelInfo &info);

}    // namespace areanet

#endif
