/* ----------------------------------------------------------------------
   areanet: area-element neural-network potential for h-BN.
   Reading a model file without libtorch.

   A model file is a TorchScript archive, i.e. a zip file.  `areanet export`
   (potential/export.py) stores in it, next to metadata.json, the extra file
   areanet_native.bin: the model's contract attributes (format version,
   cutoff, species, units) and everything NativeSpec holds, as named
   little-endian float64/int64/text arrays (format and list of arrays in
   potential/export.py).  ZipArchive finds it through the end-of-central-
   directory record and the central directory.  Before anything is used,
   verify() reads every entry and checks its CRC-32 (torch.jit.save deflates
   the code entries; a small inflater reads them), so a damaged file is
   refused on either path of the plugin.  torch.jit.save stores the extra
   files uncompressed: a compressed areanet_native.bin is refused.  Plain
   C++17: no torch, no LAMMPS header.
------------------------------------------------------------------------- */

#ifndef AREANET_ARCHIVE_H
#define AREANET_ARCHIVE_H

#include "areanet_spec.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace areanet {

// The entries of a zip archive held in memory.
class ZipArchive {
 public:
  struct Entry {
    std::string name;
    uint64_t header_offset = 0;    // of the local file header
    uint64_t compressed_size = 0;
    uint64_t size = 0;
    uint32_t crc32 = 0;
    int method = 0;                // 0 = stored
  };

  // Index the central directory of `bytes`, which must outlive this object.  On failure
  // (not a zip file, truncated) returns false with the reason.
  bool open(const std::string &bytes, std::string &error);

  // The entry "<archive root>/<path>" (TorchScript puts every entry under one folder named
  // after the file), or null.
  const Entry *find(const std::string &path) const;

  // The contents of a stored entry, CRC-checked; false with the reason otherwise.
  bool read(const Entry &entry, std::string &data, std::string &error) const;

  // Every entry (stored or deflated) read and CRC-checked: a damaged file is refused before
  // anything in it is used.  False with the first damaged entry and why.
  bool verify(std::string &error) const;

 private:
  bool contents(const Entry &entry, std::string &data, std::string &error) const;

  const std::string *bytes_ = nullptr;
  std::vector<Entry> entries_;
};

// The extra file written by `areanet export` and the version of its format read here.
constexpr const char *NATIVE_FILE = "areanet_native.bin";
constexpr int NATIVE_VERSION = 1;

enum class NativeExtra {
  FOUND,          // info and spec filled
  ABSENT,         // no extra/areanet_native.bin in the archive
  UNSUPPORTED,    // a version this plugin does not read (message says which)
  INVALID         // present but unreadable or inconsistent (message says why)
};

// Read extra/areanet_native.bin of an open model archive into the model's declarations
// and the native evaluator's tables (and info.metadata_json from extra/metadata.json).
NativeExtra read_native_extra(const ZipArchive &archive, ModelInfo &info, NativeSpec &spec,
                              std::string &message);

// What the bytes of a model file offer pair_style areanet, read without libtorch: the
// archive is opened and every entry CRC-checked (a damaged file is refused whole); then,
// unless `torchscript_only`, the declarations and native tables of its areanet_native.bin
// (`spec` set, checked for consistency).  Without a usable extra (none, or another version)
// `spec` stays null and `torch_reason` says why libtorch must read the file.  False, with the
// message for the user (naming `file`), for a file that cannot be used at all.
bool read_model_file(const std::string &bytes, const std::string &file, bool torchscript_only,
                     ModelInfo &info, std::unique_ptr<NativeSpec> &spec, std::string &torch_reason,
                     std::string &error);

}    // namespace areanet

#endif
