// ForwardingBackend: passes every call to another backend. The base of the wrappers (retry,
// fault injection), and, used directly, a way to hand a borrowed backend to something that
// wants to own one.
#pragma once

#include <memory>
#include <utility>

#include "backend/backend.h"

namespace kura::backend {

class ForwardingBackend : public Backend {
 public:
  // Owns inner.
  explicit ForwardingBackend(std::unique_ptr<Backend> inner)
      : owned_(std::move(inner)), inner_(owned_.get()) {}
  // Borrows inner, which must outlive this object.
  explicit ForwardingBackend(Backend* inner) : inner_(inner) {}

  Backend* inner() const { return inner_; }

  std::string location() const override { return inner_->location(); }
  base::Status create() override { return inner_->create(); }
  base::StatusOr<uint64_t> stat(const Handle& h) override { return inner_->stat(h); }
  base::Status save(const Handle& h, base::ByteSpan data) override {
    return inner_->save(h, data);
  }
  base::StatusOr<std::unique_ptr<StagedFile>> stage(FileKind kind) override {
    return inner_->stage(kind);
  }
  base::Status save_staged(const Handle& h, StagedFile& file) override {
    return inner_->save_staged(h, file);
  }
  base::StatusOr<base::Bytes> load(const Handle& h, uint64_t offset, uint64_t length) override {
    return inner_->load(h, offset, length);
  }
  base::Status load_into(const Handle& h, uint64_t offset, base::MutableByteSpan out) override {
    return inner_->load_into(h, offset, out);
  }
  base::Status remove(const Handle& h) override { return inner_->remove(h); }
  base::Status list(FileKind kind,
                    const std::function<base::Status(const FileEntry&)>& fn) override {
    return inner_->list(kind, fn);
  }
  base::Status list_temp_files(
      FileKind kind, const std::function<base::Status(const TempFileEntry&)>& fn) override {
    return inner_->list_temp_files(kind, fn);
  }
  base::Status remove_temp_file(FileKind kind, std::string_view name) override {
    return inner_->remove_temp_file(kind, name);
  }
  int parallelism() const override { return inner_->parallelism(); }

 private:
  std::unique_ptr<Backend> owned_;
  Backend* inner_;
};

// A backend that uses b without owning it; b must outlive the result.
inline std::unique_ptr<Backend> borrow_backend(Backend* b) {
  return std::make_unique<ForwardingBackend>(b);
}

}  // namespace kura::backend
