/* ----------------------------------------------------------------------
   areanet: where the plugin library lives, and libareanet_torch.so next
   to it (the TorchScript side, areanet_model.h), loaded on first need with
   dlopen() and kept for the life of the process (libtorch is not made to
   be unloaded).  Plain C++17: no torch, no LAMMPS header; failures come
   back as messages for the pair style to report.
------------------------------------------------------------------------- */

#ifndef AREANET_LIBRARY_H
#define AREANET_LIBRARY_H

#include "areanet_model.h"

#include <string>

namespace areanet {

// The absolute directory of the plugin library ("" if dladdr fails).  Resolved once; the
// plugin calls it at `plugin load`, before any `shell cd` could change what a relative
// name means.
std::string plugin_directory();

// libareanet_torch.so from plugin_directory(), or null with the reason in `error`
// (`needed_because` says why it was wanted, for the message).
const TorchApi *torch_api(const std::string &needed_because, std::string &error);

}    // namespace areanet

#endif
