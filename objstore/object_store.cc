#include "objstore/object_store.h"

#include <algorithm>
#include <string_view>

#include "backend/local_backend.h"
#include "crypto/sha256.h"

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
  } else if (std::any_of(name.begin(), name.end(), [](char c) {
               auto u = static_cast<unsigned char>(c);
               return u < 0x20 || u == 0x7f;
             })) {
    why = "contains a control character";  // NUL among them; they would garble logs too
  } else {
    return base::ok_status();
  }
  return base::invalid_argument("invalid " + std::string(what) + " name \"" + shown(name) +
                                "\": " + std::string(why));
}

class VerifyingWriter : public ObjectWriter {
 public:
  VerifyingWriter(std::unique_ptr<ObjectWriter> inner, backend::Handle h)
      : inner_(std::move(inner)), h_(std::move(h)) {}

  base::Status append(base::ByteSpan data) override {
    if (done_) return finished("append");
    RETURN_IF_ERROR(inner_->append(data));
    hash_.update(data);
    return base::ok_status();
  }
  uint64_t size() const override { return inner_->size(); }
  // A mismatch never reaches the inner writer's commit: the upload is discarded with it.
  base::Status commit(bool* existed) override {
    if (done_) return finished("commit");
    done_ = true;
    *existed = false;
    std::string got = base::hex_encode(hash_.finish());
    if (got != h_.name) {
      return base::invalid_argument("upload of " + h_.to_string() + " has SHA-256 " + got +
                                    ": the bytes do not match the name");
    }
    return inner_->commit(existed);
  }

 private:
  base::Status finished(std::string_view op) const {
    return base::failed_precondition(std::string(op) + " " + h_.to_string() +
                                     ": upload already finished");
  }

  std::unique_ptr<ObjectWriter> inner_;
  backend::Handle h_;
  crypto::Sha256 hash_;
  bool done_ = false;
};

}  // namespace

std::string to_string(const RepoRef& repo) { return repo.tenant + "/" + repo.repo; }

base::Status check_repo(const RepoRef& repo) {
  RETURN_IF_ERROR(check_component("tenant", repo.tenant));
  return check_component("repository", repo.repo);
}

std::string object_path(const RepoRef& repo, const backend::Handle& h) {
  return to_string(repo) + "/" + backend::local_relative_path(h);
}

std::unique_ptr<ObjectWriter> verify_name_on_commit(std::unique_ptr<ObjectWriter> writer,
                                                    const backend::Handle& h) {
  if (h.kind == backend::FileKind::kConfig) return writer;
  return std::make_unique<VerifyingWriter>(std::move(writer), h);
}

}  // namespace kura::objstore
