/* ----------------------------------------------------------------------
   areanet: area-element neural-network potential for h-BN.
   The TorchScript side of pair_style areanet (see areanet_model.h).
------------------------------------------------------------------------- */

#include "areanet_model.h"

#include <ATen/Parallel.h>
#include <torch/script.h>

#include <cstring>
#include <regex>
#include <sstream>

using namespace areanet;

struct Model::Impl {
  torch::jit::Module module;
};

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

/* ---------------------------------------------------------------------- */

Model::Model() : impl_(new Impl) {}

Model::~Model() = default;

/* ---------------------------------------------------------------------- */

void Model::set_num_threads(int nthreads)
{
  if (nthreads > 0) at::set_num_threads(nthreads);
}

int Model::get_num_threads()
{
  return at::get_num_threads();
}

/* ----------------------------------------------------------------------
   load the archive and read the attributes every areanet model carries
------------------------------------------------------------------------- */

bool Model::load(const std::string &bytes, const std::string &source, std::string &error)
{
  info_ = ModelInfo();
  torch::jit::ExtraFilesMap extra{{"metadata.json", ""}};
  try {
    std::istringstream stream(bytes);
    impl_->module = torch::jit::load(stream, torch::kCPU, extra);
    impl_->module.eval();
  } catch (const std::exception &e) {
    error = "cannot read " + source + " as a TorchScript model (" + first_sentence(exception_text(e)) +
        "); write it with `areanet export`";
    return false;
  }

  const auto &module = impl_->module;
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

bool Model::compute(int64_t ncentres, int64_t nedges, double *edge_vec, int64_t *edge_src,
                    int64_t *edge_spec, int64_t *spec, double *atom_energy, double *de_dedge,
                    std::string &error)
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

    auto out = impl_->module.forward(inputs);
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
