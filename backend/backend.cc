#include "backend/backend.h"

namespace kura::backend {

std::string_view kind_dir(FileKind kind) {
  switch (kind) {
    case FileKind::kConfig: return "config";
    case FileKind::kKey: return "keys";
    case FileKind::kLock: return "locks";
    case FileKind::kSnapshot: return "snapshots";
    case FileKind::kIndex: return "index";
    case FileKind::kPack: return "data";
  }
  return "?";
}

std::string Handle::to_string() const {
  if (kind == FileKind::kConfig) return "config";
  std::string s(kind_dir(kind));
  s += '/';
  s += name;
  return s;
}

namespace {

// A bounded, printable rendering of a caller-supplied name for error messages.
std::string shown_name(std::string_view name) {
  std::string shown;
  for (char c : name.substr(0, 80)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (name.size() > 80) shown += "...";
  return shown;
}

}  // namespace

bool is_valid_name(std::string_view name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool is_temp_name(std::string_view name) {
  constexpr std::string_view kTmp = "-tmp-";
  if (name.size() <= 64 + kTmp.size() || name.size() > 64 + kTmp.size() + 32) return false;
  if (!is_valid_name(name.substr(0, 64)) || name.substr(64, kTmp.size()) != kTmp) return false;
  for (char c : name.substr(64 + kTmp.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

base::Status Backend::remove_temp_file(FileKind kind, std::string_view name) {
  if (!is_temp_name(name)) {
    return base::invalid_argument("invalid temporary file name \"" + shown_name(name) + "\" for " +
                                  std::string(kind_dir(kind)));
  }
  return base::ok_status();  // this backend keeps none
}

base::Status check_handle(const Handle& h) {
  if (h.kind == FileKind::kConfig) {
    if (!h.name.empty()) {
      return base::invalid_argument("config handle with a name: \"" + shown_name(h.name) + "\"");
    }
    return base::ok_status();
  }
  if (static_cast<uint8_t>(h.kind) > static_cast<uint8_t>(FileKind::kPack)) {
    return base::invalid_argument("invalid file kind " +
                                  std::to_string(static_cast<int>(h.kind)));
  }
  if (!is_valid_name(h.name)) {
    return base::invalid_argument("invalid file name \"" + shown_name(h.name) + "\" for " +
                                  std::string(kind_dir(h.kind)) +
                                  ": want 64 lowercase hex characters");
  }
  return base::ok_status();
}

base::StatusOr<uint64_t> range_length(const Handle& h, uint64_t size, uint64_t offset,
                                      uint64_t length) {
  if (offset <= size && (length == 0 || length <= size - offset)) {
    return length == 0 ? size - offset : length;
  }
  std::string m = "load " + h.to_string() + ": file has " + std::to_string(size) +
                  " bytes, cannot read ";
  m += length == 0 ? "from" : std::to_string(length) + " bytes at";
  m += " offset " + std::to_string(offset);
  return base::data_loss(std::move(m));
}

}  // namespace kura::backend
