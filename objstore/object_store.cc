#include "objstore/object_store.h"

#include <string_view>

#include "backend/local_backend.h"

namespace kura::objstore {
namespace {

// The name as it may appear in an error message: printable ASCII, at most 64 characters.
std::string shown(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (name.size() > 64) out += "...";
  return out;
}

base::Status check_component(std::string_view what, std::string_view name) {
  std::string_view why;
  if (name.empty()) {
    why = "empty";
  } else if (name.size() > 255) {
    why = "longer than 255 bytes";
  } else if (name == "." || name == "..") {
    why = "not a folder name";
  } else if (name.find('/') != std::string_view::npos) {
    why = "contains '/'";
  } else if (name.find('\0') != std::string_view::npos) {
    why = "contains NUL";
  } else {
    return base::ok_status();
  }
  return base::invalid_argument("invalid " + std::string(what) + " name \"" + shown(name) +
                                "\": " + std::string(why));
}

}  // namespace

std::string to_string(const RepoRef& repo) { return repo.tenant + "/" + repo.repo; }

base::Status check_repo(const RepoRef& repo) {
  RETURN_IF_ERROR(check_component("tenant", repo.tenant));
  return check_component("repository", repo.repo);
}

std::string object_path(const RepoRef& repo, const backend::Handle& h) {
  return to_string(repo) + "/" + backend::local_relative_path(h);
}

}  // namespace kura::objstore
