/* ----------------------------------------------------------------------
   areanet: reading a model file without libtorch (see areanet_archive.h).
------------------------------------------------------------------------- */

#include "areanet_archive.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <utility>

using namespace areanet;

namespace {

// little-endian fields at byte offset `at` (the caller has checked the range)
uint64_t le(const std::string &b, uint64_t at, int nbytes)
{
  uint64_t v = 0;
  for (int k = nbytes - 1; k >= 0; k--) v = (v << 8) | static_cast<unsigned char>(b[at + k]);
  return v;
}

uint32_t crc32(const char *data, uint64_t n)
{
  static const auto table = [] {
    std::vector<uint32_t> t(256);
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (uint64_t i = 0; i < n; i++)
    c = table[(c ^ static_cast<unsigned char>(data[i])) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

/* ----------------------------------------------------------------------
   raw DEFLATE (RFC 1951), for the CRC check of the entries torch.jit.save
   compresses (the code): stored, fixed and dynamic Huffman blocks.
   Canonical Huffman codes are decoded one bit at a time (codes of equal
   length are consecutive integers), which is plenty for a few kB of code.
------------------------------------------------------------------------- */

class Inflater {
 public:
  Inflater(const char *data, uint64_t size, uint64_t limit) :
      in_(reinterpret_cast<const unsigned char *>(data)), size_(size), limit_(limit)
  {
  }

  // the whole stream into `out`; false with the reason in `error`
  bool run(std::string &out, std::string &error)
  {
    out.clear();
    out_ = &out;
    uint32_t last = 0, type = 0;
    do {
      if (!bits(1, last) || !bits(2, type)) return fail(error, "ends inside a block header");
      bool ok = false;
      if (type == 0) {
        ok = stored(error);
      } else if (type == 1) {
        ok = fixed(error);
      } else if (type == 2) {
        ok = dynamic(error);
      } else {
        return fail(error, "has a block of the reserved type 3");
      }
      if (!ok) return false;
    } while (!last);
    return true;
  }

 private:
  struct Huffman {
    std::vector<int> count = std::vector<int>(16, 0);    // codes of each length
    std::vector<int> symbol;                             // symbols in code order
  };

  const unsigned char *in_;
  uint64_t size_, limit_, pos_ = 0;
  uint32_t buffer_ = 0;
  int nbits_ = 0;
  std::string *out_ = nullptr;

  static bool fail(std::string &error, const char *what)
  {
    error = std::string("its compressed data ") + what;
    return false;
  }

  bool bits(int need, uint32_t &value)
  {
    while (nbits_ < need) {
      if (pos_ >= size_) return false;
      buffer_ |= static_cast<uint32_t>(in_[pos_++]) << nbits_;
      nbits_ += 8;
    }
    value = buffer_ & ((1u << need) - 1u);
    buffer_ >>= need;
    nbits_ -= need;
    return true;
  }

  // false if the lengths over-subscribe the code space (an incomplete code is allowed)
  static bool build(Huffman &h, const int *lengths, int n)
  {
    h.count.assign(16, 0);
    for (int k = 0; k < n; k++) h.count[lengths[k]]++;
    h.count[0] = 0;
    int left = 1;
    for (int len = 1; len < 16; len++) {
      left = 2 * left - h.count[len];
      if (left < 0) return false;
    }
    std::vector<int> offset(16, 0);
    for (int len = 1; len < 15; len++) offset[len + 1] = offset[len] + h.count[len];
    h.symbol.assign(n, 0);
    for (int k = 0; k < n; k++)
      if (lengths[k] != 0) h.symbol[offset[lengths[k]]++] = k;
    return true;
  }

  // the next symbol, or -1
  int decode(const Huffman &h)
  {
    int code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; len++) {
      uint32_t bit;
      if (!bits(1, bit)) return -1;
      code |= static_cast<int>(bit);
      const int count = h.count[len];
      if (code - first < count) return h.symbol[index + code - first];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    return -1;
  }

  bool stored(std::string &error)
  {
    buffer_ = 0;    // to the next byte boundary
    nbits_ = 0;
    if (size_ - pos_ < 4) return fail(error, "ends inside a stored block's length");
    const uint64_t len = in_[pos_] | (in_[pos_ + 1] << 8);
    const uint64_t nlen = in_[pos_ + 2] | (in_[pos_ + 3] << 8);
    pos_ += 4;
    if (len != (~nlen & 0xFFFF)) return fail(error, "has a stored block with a bad length");
    if (size_ - pos_ < len) return fail(error, "ends inside a stored block");
    if (out_->size() + len > limit_) return fail(error, "is longer than the entry's size");
    out_->append(reinterpret_cast<const char *>(in_ + pos_), len);
    pos_ += len;
    return true;
  }

  bool fixed(std::string &error)
  {
    static const auto tables = [] {
      std::vector<int> lengths(288 + 30);
      for (int k = 0; k < 288; k++) lengths[k] = k < 144 ? 8 : k < 256 ? 9 : k < 280 ? 7 : 8;
      for (int k = 0; k < 30; k++) lengths[288 + k] = 5;
      std::pair<Huffman, Huffman> h;
      build(h.first, lengths.data(), 288);
      build(h.second, lengths.data() + 288, 30);
      return h;
    }();
    return codes(tables.first, tables.second, error);
  }

  bool dynamic(std::string &error)
  {
    static const int order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    uint32_t nlit, ndist, ncode;
    if (!bits(5, nlit) || !bits(5, ndist) || !bits(4, ncode))
      return fail(error, "ends inside a dynamic block header");
    nlit += 257;
    ndist += 1;
    ncode += 4;
    if (nlit > 286 || ndist > 30) return fail(error, "declares too many codes");
    int lengths[320] = {0};
    for (uint32_t k = 0; k < ncode; k++) {
      uint32_t len;
      if (!bits(3, len)) return fail(error, "ends inside the code lengths");
      lengths[order[k]] = static_cast<int>(len);
    }
    Huffman lencode, litcode, distcode;
    if (!build(lencode, lengths, 19)) return fail(error, "has an invalid code-length code");
    uint32_t k = 0;
    while (k < nlit + ndist) {
      const int symbol = decode(lencode);
      if (symbol < 0) return fail(error, "has an invalid code length");
      if (symbol < 16) {
        lengths[k++] = symbol;
        continue;
      }
      int repeat_value = 0;
      uint32_t extra, repeat;
      if (symbol == 16) {
        if (k == 0) return fail(error, "repeats a code length before the first");
        repeat_value = lengths[k - 1];
        if (!bits(2, extra)) return fail(error, "ends inside the code lengths");
        repeat = 3 + extra;
      } else if (symbol == 17) {
        if (!bits(3, extra)) return fail(error, "ends inside the code lengths");
        repeat = 3 + extra;
      } else {
        if (!bits(7, extra)) return fail(error, "ends inside the code lengths");
        repeat = 11 + extra;
      }
      if (k + repeat > nlit + ndist) return fail(error, "has too many code lengths");
      while (repeat--) lengths[k++] = repeat_value;
    }
    if (lengths[256] == 0) return fail(error, "has no end-of-block code");
    if (!build(litcode, lengths, nlit) || !build(distcode, lengths + nlit, ndist))
      return fail(error, "has an over-subscribed Huffman code");
    return codes(litcode, distcode, error);
  }

  bool codes(const Huffman &litcode, const Huffman &distcode, std::string &error)
  {
    static const int len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                     31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const int len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const int dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                      33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                      1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static const int dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    std::string &out = *out_;
    for (;;) {
      int symbol = decode(litcode);
      if (symbol < 0) return fail(error, "has an invalid literal/length code");
      if (symbol == 256) return true;
      if (symbol < 256) {
        if (out.size() >= limit_) return fail(error, "is longer than the entry's size");
        out.push_back(static_cast<char>(symbol));
        continue;
      }
      symbol -= 257;
      if (symbol >= 29) return fail(error, "has an invalid length symbol");
      uint32_t extra;
      if (!bits(len_extra[symbol], extra)) return fail(error, "ends inside a length");
      const uint64_t len = len_base[symbol] + extra;
      const int dsym = decode(distcode);
      if (dsym < 0 || dsym >= 30) return fail(error, "has an invalid distance code");
      if (!bits(dist_extra[dsym], extra)) return fail(error, "ends inside a distance");
      const uint64_t dist = dist_base[dsym] + extra;
      if (dist > out.size()) return fail(error, "refers back beyond its start");
      if (out.size() + len > limit_) return fail(error, "is longer than the entry's size");
      for (uint64_t k = 0; k < len; k++) out.push_back(out[out.size() - dist]);
    }
  }
};

constexpr uint32_t EOCD_SIGNATURE = 0x06054b50;
constexpr uint32_t ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
constexpr uint32_t ZIP64_EOCD_SIGNATURE = 0x06064b50;
constexpr uint32_t CENTRAL_SIGNATURE = 0x02014b50;
constexpr uint32_t LOCAL_SIGNATURE = 0x04034b50;

}    // namespace

/* ----------------------------------------------------------------------
   the end-of-central-directory record (zip64 when its fields overflow),
   then every central directory entry
------------------------------------------------------------------------- */

bool ZipArchive::open(const std::string &bytes, std::string &error)
{
  bytes_ = &bytes;
  entries_.clear();
  const uint64_t size = bytes.size();

  // the record sits at the end, followed by a comment of at most 65535 bytes
  uint64_t eocd = std::numeric_limits<uint64_t>::max();
  if (size >= 22) {
    const uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
    for (uint64_t at = size - 22;; at--) {
      if (le(bytes, at, 4) == EOCD_SIGNATURE && at + 22 + le(bytes, at + 20, 2) <= size) {
        eocd = at;
        break;
      }
      if (at == lowest) break;
    }
  }
  if (eocd == std::numeric_limits<uint64_t>::max()) {
    error = "not a zip archive, or truncated: no end-of-central-directory record";
    return false;
  }

  uint64_t count = le(bytes, eocd + 10, 2);
  uint64_t cd_size = le(bytes, eocd + 12, 4);
  uint64_t cd_offset = le(bytes, eocd + 16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (eocd < 20 || le(bytes, eocd - 20, 4) != ZIP64_LOCATOR_SIGNATURE) {
      error = "zip64 archive without a zip64 end-of-central-directory locator";
      return false;
    }
    const uint64_t at = le(bytes, eocd - 20 + 8, 8);
    if (at > size || size - at < 56 || le(bytes, at, 4) != ZIP64_EOCD_SIGNATURE) {
      error = "truncated or corrupt: bad zip64 end-of-central-directory record";
      return false;
    }
    count = le(bytes, at + 32, 8);
    cd_size = le(bytes, at + 40, 8);
    cd_offset = le(bytes, at + 48, 8);
  }
  if (cd_offset > size || cd_size > size - cd_offset) {
    error = "truncated: the central directory lies beyond the end of the file";
    return false;
  }

  uint64_t at = cd_offset;
  const uint64_t end = cd_offset + cd_size;
  for (uint64_t k = 0; k < count; k++) {
    if (end - at < 46 || le(bytes, at, 4) != CENTRAL_SIGNATURE) {
      error = "corrupt central directory (entry " + std::to_string(k) + ")";
      return false;
    }
    Entry e;
    e.method = static_cast<int>(le(bytes, at + 10, 2));
    e.crc32 = static_cast<uint32_t>(le(bytes, at + 16, 4));
    e.compressed_size = le(bytes, at + 20, 4);
    e.size = le(bytes, at + 24, 4);
    const uint64_t name_len = le(bytes, at + 28, 2);
    const uint64_t extra_len = le(bytes, at + 30, 2);
    const uint64_t comment_len = le(bytes, at + 32, 2);
    e.header_offset = le(bytes, at + 42, 4);
    if (end - at - 46 < name_len + extra_len + comment_len) {
      error = "corrupt central directory (entry " + std::to_string(k) + " overruns it)";
      return false;
    }
    e.name = bytes.substr(at + 46, name_len);

    // zip64 extended information: the 64-bit values of the saturated fields, in order
    uint64_t x = at + 46 + name_len;
    const uint64_t xend = x + extra_len;
    while (xend - x >= 4) {
      const uint64_t id = le(bytes, x, 2), len = le(bytes, x + 2, 2);
      if (xend - x - 4 < len) break;
      if (id == 0x0001) {
        uint64_t f = x + 4;
        for (uint64_t *field : {&e.size, &e.compressed_size, &e.header_offset}) {
          if (*field != 0xFFFFFFFF) continue;
          if (x + 4 + len - f < 8) {
            error = "corrupt zip64 field of entry " + e.name;
            return false;
          }
          *field = le(bytes, f, 8);
          f += 8;
        }
      }
      x += 4 + len;
    }
    entries_.push_back(std::move(e));
    at += 46 + name_len + extra_len + comment_len;
  }
  return true;
}

/* ---------------------------------------------------------------------- */

const ZipArchive::Entry *ZipArchive::find(const std::string &path) const
{
  for (const auto &e : entries_) {
    const auto slash = e.name.find('/');
    if (slash != std::string::npos && slash > 0 &&
        e.name.compare(slash + 1, std::string::npos, path) == 0)
      return &e;
  }
  return nullptr;
}

/* ---------------------------------------------------------------------- */

bool ZipArchive::read(const Entry &e, std::string &data, std::string &error) const
{
  if (e.method != 0) {
    error = "archive entry " + e.name + " is compressed (method " + std::to_string(e.method) +
        "); torch.jit.save stores extra files uncompressed and this reader does not inflate them";
    return false;
  }
  return contents(e, data, error);
}

/* ----------------------------------------------------------------------
   the data of an entry, stored or deflated, checked against its local
   header (signature, name) and its CRC-32
------------------------------------------------------------------------- */

bool ZipArchive::contents(const Entry &e, std::string &data, std::string &error) const
{
  const std::string &bytes = *bytes_;
  const uint64_t size = bytes.size();
  if (e.header_offset > size || size - e.header_offset < 30 ||
      le(bytes, e.header_offset, 4) != LOCAL_SIGNATURE) {
    error = "truncated or corrupt: no local header for archive entry " + e.name;
    return false;
  }
  if (le(bytes, e.header_offset + 6, 2) & 1) {
    error = "archive entry " + e.name + " is encrypted";
    return false;
  }
  const uint64_t name_len = le(bytes, e.header_offset + 26, 2);
  if (size - e.header_offset - 30 < name_len ||
      bytes.compare(e.header_offset + 30, name_len, e.name) != 0) {
    error = "corrupt: archive entry " + e.name + " has another name in its local header";
    return false;
  }
  const uint64_t start = e.header_offset + 30 + name_len +
      le(bytes, e.header_offset + 28, 2);    // name and extra field (torch's 64-byte alignment)
  if (start > size || size - start < e.compressed_size) {
    error = "truncated: archive entry " + e.name + " extends beyond the end of the file";
    return false;
  }
  if (e.method == 0) {
    if (e.compressed_size != e.size) {
      error = "corrupt: stored archive entry " + e.name + " has two different sizes";
      return false;
    }
    data.assign(bytes, start, e.size);
  } else if (e.method == 8) {
    Inflater inflater(bytes.data() + start, e.compressed_size, e.size);
    std::string why;
    if (!inflater.run(data, why)) {
      error = "corrupt: archive entry " + e.name + " does not decompress (" + why + ")";
      return false;
    }
    if (data.size() != e.size) {
      error = "corrupt: archive entry " + e.name + " decompresses to " +
          std::to_string(data.size()) + " bytes, its directory says " + std::to_string(e.size);
      return false;
    }
  } else {
    error = "archive entry " + e.name + " uses compression method " + std::to_string(e.method) +
        " (a model file holds stored and deflated entries only)";
    return false;
  }
  if (crc32(data.data(), data.size()) != e.crc32) {
    error = "corrupt: archive entry " + e.name + " fails its CRC-32 check";
    return false;
  }
  return true;
}

/* ---------------------------------------------------------------------- */

bool ZipArchive::verify(std::string &error) const
{
  std::string data;
  for (const auto &e : entries_)
    if (!contents(e, data, error)) return false;
  return true;
}

/* ----------------------------------------------------------------------
   areanet_native.bin: magic, version, count, then named arrays
------------------------------------------------------------------------- */

namespace {

enum { FLOAT64 = 1, INT64 = 2, TEXT = 3 };

struct Array {
  int dtype = 0;
  std::vector<uint64_t> shape;
  uint64_t count = 0;     // elements (bytes for text)
  uint64_t offset = 0;    // of the data in the file
};

class NativeFile {
 public:
  NativeFile(const std::string &data) : data_(data) {}

  // false with `error` set; `unsupported` for another version
  bool parse(std::string &error, bool &unsupported);

  bool text(const std::string &name, std::string &out, std::string &error) const
  {
    const Array *a = get(name, TEXT, error);
    if (!a) return false;
    out.assign(data_, a->offset, a->count);
    return true;
  }
  bool f64(const std::string &name, std::vector<double> &out, std::string &error,
           int ndim = -1) const
  {
    const Array *a = get(name, FLOAT64, error, ndim);
    if (!a) return false;
    out.resize(a->count);
    for (uint64_t k = 0; k < a->count; k++) {
      const uint64_t bits = le(data_, a->offset + 8 * k, 8);
      std::memcpy(&out[k], &bits, 8);
    }
    return true;
  }
  bool i64(const std::string &name, std::vector<int> &out, std::string &error) const
  {
    const Array *a = get(name, INT64, error);
    if (!a) return false;
    out.resize(a->count);
    for (uint64_t k = 0; k < a->count; k++) {
      const auto v = static_cast<int64_t>(le(data_, a->offset + 8 * k, 8));
      if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
        error = "array `" + name + "` holds a value out of range";
        return false;
      }
      out[k] = static_cast<int>(v);
    }
    return true;
  }
  bool scalar(const std::string &name, int &out, std::string &error) const
  {
    std::vector<int> v;
    if (!i64(name, v, error)) return false;
    return one(name, v, out, error);
  }
  bool scalar(const std::string &name, double &out, std::string &error) const
  {
    std::vector<double> v;
    if (!f64(name, v, error)) return false;
    return one(name, v, out, error);
  }
  const std::vector<uint64_t> *shape(const std::string &name) const
  {
    auto it = arrays_.find(name);
    return it == arrays_.end() ? nullptr : &it->second.shape;
  }

 private:
  const std::string &data_;
  std::map<std::string, Array> arrays_;

  const Array *get(const std::string &name, int dtype, std::string &error, int ndim = -1) const
  {
    static const char *names[] = {"?", "float64", "int64", "text"};
    auto it = arrays_.find(name);
    if (it == arrays_.end()) {
      error = "array `" + name + "` is missing";
      return nullptr;
    }
    if (it->second.dtype != dtype) {
      error = "array `" + name + "` is " + names[it->second.dtype] + ", expected " + names[dtype];
      return nullptr;
    }
    if (ndim >= 0 && (int) it->second.shape.size() != ndim) {
      error = "array `" + name + "` has " + std::to_string(it->second.shape.size()) +
          " dimensions, expected " + std::to_string(ndim);
      return nullptr;
    }
    return &it->second;
  }
  template <typename T>
  static bool one(const std::string &name, const std::vector<T> &v, T &out, std::string &error)
  {
    if (v.size() != 1) {
      error = "array `" + name + "` is not a scalar";
      return false;
    }
    out = v[0];
    return true;
  }
};

bool NativeFile::parse(std::string &error, bool &unsupported)
{
  unsupported = false;
  const uint64_t size = data_.size();
  if (size < 16 || data_.compare(0, 8, "AREANETN") != 0) {
    error = "bad magic (not an areanet_native.bin)";
    return false;
  }
  const uint64_t version = le(data_, 8, 4);
  if (version != (uint64_t) NATIVE_VERSION) {
    error = std::string(NATIVE_FILE) + " has version " + std::to_string(version) +
        ", this plugin reads version " + std::to_string(NATIVE_VERSION);
    unsupported = true;
    return false;
  }
  const uint64_t count = le(data_, 12, 4);
  uint64_t at = 16;
  for (uint64_t k = 0; k < count; k++) {
    if (size - at < 2 || size - at - 2 < le(data_, at, 2) + 2) {
      error = "truncated (array " + std::to_string(k) + ")";
      return false;
    }
    const uint64_t name_len = le(data_, at, 2);
    const std::string name = data_.substr(at + 2, name_len);
    at += 2 + name_len;
    Array a;
    a.dtype = static_cast<int>(le(data_, at, 1));
    const uint64_t ndim = le(data_, at + 1, 1);
    at += 2;
    if (a.dtype < FLOAT64 || a.dtype > TEXT) {
      error = "array `" + name + "` has unknown dtype " + std::to_string(a.dtype);
      return false;
    }
    if (size - at < 8 * ndim) {
      error = "truncated (shape of array `" + name + "`)";
      return false;
    }
    const uint64_t width = a.dtype == TEXT ? 1 : 8;
    a.count = 1;
    for (uint64_t d = 0; d < ndim; d++) {
      const uint64_t n = le(data_, at + 8 * d, 8);
      if (n != 0 && a.count > size / width / n) {
        error = "array `" + name + "` is larger than the file";
        return false;
      }
      a.count *= n;
      a.shape.push_back(n);
    }
    at += 8 * ndim;
    if (size - at < a.count * width) {
      error = "truncated (data of array `" + name + "`)";
      return false;
    }
    a.offset = at;
    at += a.count * width;
    arrays_[name] = std::move(a);
  }
  return true;
}

}    // namespace

/* ---------------------------------------------------------------------- */

NativeExtra areanet::read_native_extra(const ZipArchive &archive, ModelInfo &info,
                                       NativeSpec &spec, std::string &message)
{
  const auto *entry = archive.find(std::string("extra/") + NATIVE_FILE);
  if (!entry) return NativeExtra::ABSENT;
  std::string data;
  if (!archive.read(*entry, data, message)) return NativeExtra::INVALID;

  NativeFile file(data);
  bool unsupported = false;
  if (!file.parse(message, unsupported))
    return unsupported ? NativeExtra::UNSUPPORTED : NativeExtra::INVALID;

  info = ModelInfo();
  spec = NativeSpec();
  std::string &e = message;
  std::string species, activation;
  int low_order = 0;
  if (!file.scalar("format_version", info.format_version, e) ||
      !file.scalar("cutoff", info.cutoff, e) || !file.text("species", species, e) ||
      !file.text("units", info.units, e) || !file.scalar("dims", spec.dims, e) ||
      !file.scalar("low_order", low_order, e) || !file.i64("frame_ref", spec.frame_ref, e) ||
      !file.f64("frame_sy", spec.frame_sy, e) || !file.f64("frame_sz", spec.frame_sz, e) ||
      !file.i64("frame_order", spec.frame_order, e) ||
      !file.f64("low_order_matrix", spec.low_order_matrix, e) ||
      !file.i64("is_centre", spec.is_centre, e) ||
      !file.f64("feature_mean", spec.feature_mean, e) ||
      !file.f64("feature_std", spec.feature_std, e) ||
      !file.f64("ref_energy", spec.ref_energy, e) ||
      !file.scalar("energy_scale", spec.energy_scale, e) ||
      !file.text("activation", activation, e) ||
      !file.scalar("negative_slope", spec.negative_slope, e))
    return NativeExtra::INVALID;

  for (size_t start = 0; start <= species.size();) {
    const size_t stop = std::min(species.find('\n', start), species.size());
    info.species.push_back(species.substr(start, stop - start));
    start = stop + 1;
  }
  spec.cutoff = info.cutoff;
  spec.species = info.species;
  spec.low_order = low_order != 0;
  if (activation == "silu") {
    spec.activation = NativeSpec::SILU;
  } else if (activation == "tanh") {
    spec.activation = NativeSpec::TANH;
  } else if (activation == "leaky_relu") {
    spec.activation = NativeSpec::LEAKY_RELU;
  } else {
    message = "unknown activation '" + activation + "'";
    return NativeExtra::INVALID;
  }

  // the Linear layers of each species' MLP
  std::vector<int> layers;
  if (!file.i64("mlp_layers", layers, e)) return NativeExtra::INVALID;
  if (layers.size() != info.species.size()) {
    message = "array `mlp_layers` does not have one entry per species";
    return NativeExtra::INVALID;
  }
  for (size_t s = 0; s < layers.size(); s++) {
    std::vector<NativeSpec::Layer> mlp(layers[s] > 0 ? layers[s] : 0);
    for (size_t k = 0; k < mlp.size(); k++) {
      const std::string name = "mlp." + std::to_string(s) + "." + std::to_string(k);
      auto &l = mlp[k];
      if (!file.f64(name + ".weight", l.weight, e, 2) || !file.f64(name + ".bias", l.bias, e, 1))
        return NativeExtra::INVALID;
      const auto &shape = *file.shape(name + ".weight");
      if (shape[0] > (uint64_t) std::numeric_limits<int>::max() ||
          shape[1] > (uint64_t) std::numeric_limits<int>::max()) {
        message = "array `" + name + ".weight` is too large";
        return NativeExtra::INVALID;
      }
      l.n_out = static_cast<int>(shape[0]);
      l.n_in = static_cast<int>(shape[1]);
    }
    spec.mlps.push_back(std::move(mlp));
  }

  // optional: the charges of a charged model (absent = uncharged)
  if (file.shape("species_charges") || file.shape("charge_width")) {
    std::vector<double> width;
    if (!file.f64("species_charges", info.species_charges, e, 1) ||
        !file.f64("charge_width", width, e, 0))
      return NativeExtra::INVALID;
    if (info.species_charges.size() != info.species.size()) {
      message = "array `species_charges` has " + std::to_string(info.species_charges.size()) +
          " entries for " + std::to_string(info.species.size()) + " species";
      return NativeExtra::INVALID;
    }
    info.charge_width = width.at(0);
  }

  // optional: the training domain (feature ranges; absent in files exported before it)
  if (file.shape("domain_min") || file.shape("domain_max")) {
    if (!file.f64("domain_min", spec.domain_min, e, 2) ||
        !file.f64("domain_max", spec.domain_max, e, 2))
      return NativeExtra::INVALID;
  }

  // metadata.json rides along for completeness (stored like every extra file)
  if (const auto *meta = archive.find("extra/metadata.json")) {
    std::string ignored;
    if (!archive.read(*meta, info.metadata_json, ignored)) info.metadata_json.clear();
  }
  return NativeExtra::FOUND;
}

/* ----------------------------------------------------------------------
   a model file's bytes: the archive, checked whole, then its native extra
------------------------------------------------------------------------- */

bool areanet::read_model_file(const std::string &bytes, const std::string &file,
                              bool torchscript_only, ModelInfo &info,
                              std::unique_ptr<NativeSpec> &spec, std::string &torch_reason,
                              std::string &error)
{
  spec.reset();
  torch_reason.clear();
  ZipArchive archive;
  std::string message;
  if (!archive.open(bytes, message)) {
    error = "cannot read " + file + " as a TorchScript model (" + message +
        "); write it with `areanet export`";
    return false;
  }
  if (!archive.verify(message)) {
    error = "model file " + file + " is damaged: " + message +
        " (the file changed after `areanet export`; copy it again or export it again)";
    return false;
  }
  if (torchscript_only) {
    torch_reason = "of pair_style areanet torchscript";
    return true;
  }
  auto native = std::make_unique<NativeSpec>();
  switch (read_native_extra(archive, info, *native, message)) {
    case NativeExtra::FOUND:
      message = native->check();
      if (!message.empty()) {
        error = "model file " + file + ": inconsistent " + NATIVE_FILE + ": " + message;
        return false;
      }
      spec = std::move(native);
      return true;
    case NativeExtra::ABSENT:
      torch_reason = "model file " + file + " has no " + NATIVE_FILE +
          " (written before `areanet export` added it, or not an AreaNet model); export it "
          "again to run without libtorch";
      return true;
    case NativeExtra::UNSUPPORTED:
      torch_reason = "model file " + file + ": " + message;
      return true;
    case NativeExtra::INVALID:
      break;
  }
  error = "model file " + file + ": cannot read its " + NATIVE_FILE + ": " + message;
  return false;
}
