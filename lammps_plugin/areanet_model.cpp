/* ----------------------------------------------------------------------
   areanet: area-element neural-network potential for h-BN.
   The TorchScript side of pair_style areanet (see areanet_model.h): the
   whole of libareanet_torch.so, which the plugin dlopen()s on demand.
------------------------------------------------------------------------- */

#include "areanet_model.h"

#include <ATen/Parallel.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <cstring>
#include <regex>
#include <sstream>

using namespace areanet;

namespace {

class TorchModel : public Model {
 public:
  bool load(const std::string &bytes, const std::string &source, std::string &error) override;
  const ModelInfo &info() const override { return info_; }
  bool compute(int64_t ncentres, int64_t nedges, double *edge_vec, int64_t *edge_src,
               int64_t *edge_spec, int64_t *spec, double *atom_energy, double *de_dedge,
               std::string &error) override;
  bool native_spec(NativeSpec &spec, std::string &why) const override;

 private:
  torch::jit::Module module_;
  ModelInfo info_;
};

}    // namespace

/* ----------------------------------------------------------------------
   The message of an exception raised inside a TorchScript method carries a
   TorchScript traceback; keep only what the model said, i.e. the text after
   "<--- HERE" that starts with "SomeError: ".
------------------------------------------------------------------------- */

static std::string model_message(const std::string &what)
{
  std::string text = what;
  auto here = text.rfind("<--- HERE");
  if (here != std::string::npos) text = text.substr(here);
  static const std::regex kind(R"((^|\n)[A-Za-z_][A-Za-z0-9_.]*(Error|Exception): )");
  std::smatch m;
  if (std::regex_search(text, m, kind)) {
    text = m.suffix().str();
  } else if (here != std::string::npos) {
    text = what;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

static std::string exception_text(const std::exception &e)
{
  if (auto *c10err = dynamic_cast<const c10::Error *>(&e))
    return model_message(c10err->what_without_backtrace());
  return model_message(e.what());
}

// The first sentence of a libtorch message (its archive errors go on for a paragraph).
static std::string first_sentence(const std::string &text)
{
  auto end = text.find_first_of('\n');
  std::string line = text.substr(0, end);
  auto stop = line.find(". ");
  return stop == std::string::npos ? line : line.substr(0, stop + 1);
}

/* ----------------------------------------------------------------------
   the library's entry point
------------------------------------------------------------------------- */

static Model *create_model()
{
  return new TorchModel();
}

static void set_num_threads(int nthreads)
{
  if (nthreads > 0) at::set_num_threads(nthreads);
}

static int get_num_threads()
{
  return at::get_num_threads();
}

extern "C" __attribute__((visibility("default"))) const TorchApi *areanet_torch_api()
{
  static const TorchApi api = {TORCH_INTERFACE_VERSION, CXX11_ABI, create_model,
                               set_num_threads, get_num_threads};
  return &api;
}

/* ----------------------------------------------------------------------
   load the archive and read the attributes every areanet model carries
------------------------------------------------------------------------- */

bool TorchModel::load(const std::string &bytes, const std::string &source, std::string &error)
{
  info_ = ModelInfo();
  torch::jit::ExtraFilesMap extra{{"metadata.json", ""}};
  // The profiling graph executor would re-optimise the autograd of forward() into many
  // small fused kernels; plain execution is about 1.5x faster for this model (the Python
  // hosts do the same).  Process-wide, like every TorchScript executor setting.
  torch::jit::setGraphExecutorOptimize(false);
  try {
    std::istringstream stream(bytes);
    module_ = torch::jit::load(stream, torch::kCPU, extra);
    module_.eval();
  } catch (const std::exception &e) {
    error = "cannot read " + source + " as a TorchScript model (" + first_sentence(exception_text(e)) +
        "); write it with `areanet export`";
    return false;
  }

  const auto &module = module_;
  for (const char *name : {"format_version", "cutoff", "species", "units"}) {
    if (!module.hasattr(name)) {
      error = source + " is a TorchScript file but not an areanet model: it has no `" + name +
          "` attribute";
      return false;
    }
  }
  if (!module.find_method("forward")) {
    error = source + " has no forward() method";
    return false;
  }

  try {
    auto version = module.attr("format_version");
    auto cutoff = module.attr("cutoff");
    auto species = module.attr("species");
    auto units = module.attr("units");
    if (!version.isInt() || !cutoff.isDouble() || !species.isList() || !units.isString()) {
      error = source +
          ": model attributes have the wrong types (need format_version: int, cutoff: float, "
          "species: List[str], units: str)";
      return false;
    }
    info_.format_version = static_cast<int>(version.toInt());
    info_.cutoff = cutoff.toDouble();
    for (const auto &s : species.toListRef()) {
      if (!s.isString()) {
        error = source + ": model attribute `species` must be a list of strings";
        return false;
      }
      info_.species.push_back(s.toStringRef());
    }
    info_.units = units.toStringRef();

    // optional: the charges of a charged model (files before the term have neither)
    if (module.hasattr("species_charges")) {
      auto charges = module.attr("species_charges");
      if (!charges.isList()) {
        error = source + ": model attribute `species_charges` must be a list of floats";
        return false;
      }
      for (const auto &q : charges.toListRef()) {
        if (!q.isDouble()) {
          error = source + ": model attribute `species_charges` must be a list of floats";
          return false;
        }
        info_.species_charges.push_back(q.toDouble());
      }
      if (!info_.species_charges.empty() && info_.species_charges.size() != info_.species.size()) {
        error = source + ": model attribute `species_charges` has " +
            std::to_string(info_.species_charges.size()) + " entries for " +
            std::to_string(info_.species.size()) + " species";
        return false;
      }
    }
    if (module.hasattr("charge_width")) {
      auto width = module.attr("charge_width");
      if (!width.isDouble()) {
        error = source + ": model attribute `charge_width` must be a float";
        return false;
      }
      info_.charge_width = width.toDouble();
    }
  } catch (const std::exception &e) {
    error = source + ": cannot read the model attributes (" + exception_text(e) + ")";
    return false;
  }
  info_.metadata_json = extra["metadata.json"];
  return true;
}

/* ----------------------------------------------------------------------
   one model call; the model differentiates its energy with respect to the
   edge vectors inside forward(), so autograd must be on (no InferenceMode)
------------------------------------------------------------------------- */

bool TorchModel::compute(int64_t ncentres, int64_t nedges, double *edge_vec, int64_t *edge_src,
                         int64_t *edge_spec, int64_t *spec, double *atom_energy,
                         double *de_dedge, std::string &error)
{
  try {
    torch::AutoGradMode grad_on(true);
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
    std::vector<torch::jit::IValue> inputs{
        torch::from_blob(edge_vec, {nedges, 3}, f64),
        torch::from_blob(edge_src, {nedges}, i64),
        torch::from_blob(edge_spec, {nedges}, i64),
        torch::from_blob(spec, {ncentres}, i64)};

    auto out = module_.forward(inputs);
    if (!out.isTuple() || out.toTupleRef().elements().size() != 2) {
      error = "model forward() must return a tuple (atom_energy, dE_dedge)";
      return false;
    }
    const auto &elems = out.toTupleRef().elements();
    if (!elems[0].isTensor() || !elems[1].isTensor()) {
      error = "model forward() must return two tensors";
      return false;
    }
    auto energy = elems[0].toTensor().detach();
    auto grad = elems[1].toTensor().detach();
    if (energy.scalar_type() != torch::kFloat64 || grad.scalar_type() != torch::kFloat64) {
      error = "model forward() must return float64 tensors";
      return false;
    }
    if (energy.dim() != 1 || energy.size(0) != ncentres || grad.dim() != 2 ||
        grad.size(0) != nedges || grad.size(1) != 3) {
      std::ostringstream msg;
      msg << "model forward() returned shapes " << energy.sizes() << " and " << grad.sizes()
          << ", expected [" << ncentres << "] and [" << nedges << ", 3]";
      error = msg.str();
      return false;
    }
    energy = energy.contiguous();
    grad = grad.contiguous();
    std::memcpy(atom_energy, energy.data_ptr<double>(), sizeof(double) * ncentres);
    std::memcpy(de_dedge, grad.data_ptr<double>(), sizeof(double) * 3 * nedges);
  } catch (const std::exception &e) {
    error = exception_text(e);
    return false;
  }
  return true;
}

/* ----------------------------------------------------------------------
   the weights and tables of an AreaNet module, for the native evaluator
------------------------------------------------------------------------- */

static std::vector<double> doubles(const torch::Tensor &t)
{
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

static std::vector<int> ints(const torch::Tensor &t)
{
  auto c = t.detach().to(torch::kCPU, torch::kInt64).contiguous();
  std::vector<int> out(c.numel());
  for (int64_t k = 0; k < c.numel(); k++) out[k] = static_cast<int>(c.data_ptr<int64_t>()[k]);
  return out;
}

bool TorchModel::native_spec(NativeSpec &spec, std::string &why) const
{
  const auto &module = module_;
  try {
    for (const char *name :
         {"dims", "low_order", "conservative", "frame_ref", "frame_sy", "frame_sz", "frame_order",
          "low_order_matrix", "is_centre", "feature_mean", "feature_std", "ref_energy",
          "energy_scale", "mlps"}) {
      if (!module.hasattr(name)) {
        why = std::string("the model has no `") + name + "`: not an AreaNet module";
        return false;
      }
    }
    if (!module.attr("conservative").toBool()) {
      why = "a direct-force model";
      return false;
    }
    spec = NativeSpec();
    spec.cutoff = info_.cutoff;
    spec.species = info_.species;
    spec.dims = static_cast<int>(module.attr("dims").toInt());
    spec.low_order = module.attr("low_order").toBool();
    spec.frame_ref = ints(module.attr("frame_ref").toTensor());
    spec.frame_sy = doubles(module.attr("frame_sy").toTensor());
    spec.frame_sz = doubles(module.attr("frame_sz").toTensor());
    spec.frame_order = ints(module.attr("frame_order").toTensor());
    spec.low_order_matrix = doubles(module.attr("low_order_matrix").toTensor());
    spec.is_centre = ints(module.attr("is_centre").toTensor());
    spec.feature_mean = doubles(module.attr("feature_mean").toTensor());
    spec.feature_std = doubles(module.attr("feature_std").toTensor());
    spec.ref_energy = doubles(module.attr("ref_energy").toTensor());
    spec.energy_scale = doubles(module.attr("energy_scale").toTensor()).at(0);

    // mlps: one Sequential per species of Linear, activation, ..., Linear
    std::string act_kind;
    for (const auto &mlp : module.attr("mlps").toModule().named_children()) {
      std::vector<NativeSpec::Layer> layers;
      bool expect_linear = true;
      for (const auto &child : mlp.value.named_children()) {
        const auto &layer = child.value;
        const std::string type = layer.type()->name() ? layer.type()->name()->name() : "";
        if (expect_linear) {
          if (!layer.hasattr("weight") || !layer.hasattr("bias")) {
            why = "MLP layer " + child.name + " (" + type + ") is not a Linear layer";
            return false;
          }
          auto w = layer.attr("weight").toTensor();
          NativeSpec::Layer l;
          l.n_out = static_cast<int>(w.size(0));
          l.n_in = static_cast<int>(w.size(1));
          l.weight = doubles(w);
          l.bias = doubles(layer.attr("bias").toTensor());
          layers.push_back(std::move(l));
        } else {
          if (type == "SiLU") {
            spec.activation = NativeSpec::SILU;
          } else if (type == "Tanh") {
            spec.activation = NativeSpec::TANH;
          } else if (type == "LeakyReLU") {
            spec.activation = NativeSpec::LEAKY_RELU;
            spec.negative_slope = layer.attr("negative_slope").toDouble();
          } else {
            why = "activation " + type + " has no native kernel";
            return false;
          }
          if (!act_kind.empty() && act_kind != type) {
            why = "mixed activations";
            return false;
          }
          act_kind = type;
        }
        expect_linear = !expect_linear;
      }
      if (expect_linear) {
        why = "an MLP does not end with a Linear layer";
        return false;
      }
      spec.mlps.push_back(std::move(layers));
    }
  } catch (const std::exception &e) {
    why = "cannot read the model's tables (" + exception_text(e) + ")";
    return false;
  }
  return true;
}
