/* ----------------------------------------------------------------------
   areanet: the plugin's directory and libareanet_torch.so (see
   areanet_library.h).
------------------------------------------------------------------------- */

#include "areanet_library.h"

#include <cstdlib>
#include <dlfcn.h>

using namespace areanet;

/* ---------------------------------------------------------------------- */

std::string areanet::plugin_directory()
{
  static const std::string directory = [] {
    Dl_info dl;
    if (!dladdr(reinterpret_cast<void *>(&areanet::plugin_directory), &dl) || !dl.dli_fname)
      return std::string();
    std::string path = dl.dli_fname;
    if (char *real = realpath(dl.dli_fname, nullptr)) {
      path = real;
      free(real);
    }
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
  }();
  return directory;
}

/* ---------------------------------------------------------------------- */

const TorchApi *areanet::torch_api(const std::string &needed_because, std::string &error)
{
  static const TorchApi *api = nullptr;
  if (api) return api;

  const std::string directory = plugin_directory();
  if (directory.empty()) {
    error = std::string("cannot locate the plugin library (dladdr failed), so not ") +
        AREANET_TORCH_LIBRARY + " either; it is needed because " + needed_because;
    return nullptr;
  }
  const std::string path = directory + "/" + AREANET_TORCH_LIBRARY;
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    error = "cannot load the TorchScript support library " + path + ", needed because " +
        needed_because + ": " + (why ? why : "unknown dlopen error") +
        " (rebuild the plugin with scripts/build_plugin.sh)";
    return nullptr;
  }
  using entry_t = const TorchApi *(*) ();
  auto entry = reinterpret_cast<entry_t>(dlsym(handle, AREANET_TORCH_ENTRY));
  const TorchApi *found = entry ? entry() : nullptr;
  if (!found || found->interface_version != TORCH_INTERFACE_VERSION ||
      found->cxx11_abi != CXX11_ABI) {
    error = path + " does not match this plugin (" +
        (found ? std::string("another interface version or C++ ABI")
               : std::string("no ") + AREANET_TORCH_ENTRY) +
        "); rebuild both with scripts/build_plugin.sh";
    return nullptr;
  }
  api = found;
  return api;
}
