#include "backend/fault_backend.h"

#include <string>
#include <utility>

namespace kura::backend {

void FaultBackend::add(Fault fault) {
  std::lock_guard lock(mu_);
  faults_.push_back(std::move(fault));
}

void FaultBackend::fail_nth(FaultOp op, int n, base::Status status) {
  Fault f;
  f.op = op;
  f.skip = n > 0 ? n - 1 : 0;
  f.status = std::move(status);
  add(std::move(f));
}

void FaultBackend::drop_response_after_save(int n) {
  Fault f;
  f.op = FaultOp::kSave;
  f.skip = n > 0 ? n - 1 : 0;
  f.when = Fault::When::kAfter;
  f.status = base::unavailable("injected fault: response lost after a successful save");
  add(std::move(f));
}

void FaultBackend::set_full_disk(bool full) {
  std::lock_guard lock(mu_);
  full_disk_ = full;
}

void FaultBackend::set_free_space(std::optional<uint64_t> bytes) {
  std::lock_guard lock(mu_);
  free_space_ = bytes;
}

void FaultBackend::clear() {
  std::lock_guard lock(mu_);
  faults_.clear();
  full_disk_ = false;
  free_space_.reset();
}

int FaultBackend::calls(FaultOp op) const {
  std::lock_guard lock(mu_);
  return calls_[static_cast<size_t>(op)];
}

int FaultBackend::injected() const {
  std::lock_guard lock(mu_);
  return injected_;
}

std::optional<Fault> FaultBackend::next(FaultOp op, std::optional<FileKind> kind) {
  std::lock_guard lock(mu_);
  ++calls_[static_cast<size_t>(op)];
  ++calls_[static_cast<size_t>(FaultOp::kAny)];
  for (Fault& f : faults_) {
    if (f.op != FaultOp::kAny && f.op != op) continue;
    if (f.kind && f.kind != kind) continue;
    if (f.times == 0) continue;
    if (f.skip > 0) {
      --f.skip;
      continue;
    }
    if (f.times > 0) --f.times;
    ++injected_;
    return f;
  }
  return std::nullopt;
}

base::Status FaultBackend::create() {
  auto f = next(FaultOp::kCreate, std::nullopt);
  if (f && f->when == Fault::When::kBefore) return f->status;
  base::Status st = inner()->create();
  if (f && st.ok() && f->when == Fault::When::kAfter) return f->status;
  return st;
}

base::StatusOr<uint64_t> FaultBackend::stat(const Handle& h) {
  auto f = next(FaultOp::kStat, h.kind);
  if (f && f->when == Fault::When::kBefore) return f->status;
  auto r = inner()->stat(h);
  if (f && r.ok() && f->when == Fault::When::kAfter) return f->status;
  return r;
}

base::Status FaultBackend::save(const Handle& h, base::ByteSpan data) {
  auto f = next(FaultOp::kSave, h.kind);
  if (f && f->when == Fault::When::kBefore) return f->status;
  {
    std::lock_guard lock(mu_);
    bool full = full_disk_ || (free_space_ && *free_space_ < data.size());
    if (full) {
      ++injected_;
      return base::resource_exhausted("save " + h.to_string() +
                                      ": No space left on device (injected)");
    }
    // Reserve now so parallel saves cannot overcommit; refunded if the save fails.
    if (free_space_) *free_space_ -= data.size();
  }
  base::Status st = inner()->save(h, data);
  if (!st.ok()) {
    std::lock_guard lock(mu_);
    if (free_space_) *free_space_ += data.size();
    return st;
  }
  if (f && f->when == Fault::When::kAfter) return f->status;
  return st;
}

base::StatusOr<base::Bytes> FaultBackend::load(const Handle& h, uint64_t offset,
                                               uint64_t length) {
  auto f = next(FaultOp::kLoad, h.kind);
  if (f && f->when == Fault::When::kBefore) return f->status;
  auto r = inner()->load(h, offset, length);
  if (!f || !r.ok()) return r;
  if (f->when == Fault::When::kAfter) return f->status;
  if (f->when == Fault::When::kCorruptResult && !r->empty()) (*r)[r->size() / 2] ^= 0x01;
  return r;
}

base::Status FaultBackend::remove(const Handle& h) {
  auto f = next(FaultOp::kRemove, h.kind);
  if (f && f->when == Fault::When::kBefore) return f->status;
  base::Status st = inner()->remove(h);
  if (f && st.ok() && f->when == Fault::When::kAfter) return f->status;
  return st;
}

base::Status FaultBackend::list(FileKind kind,
                                const std::function<base::Status(const FileEntry&)>& fn) {
  auto f = next(FaultOp::kList, kind);
  if (f && f->when == Fault::When::kBefore) return f->status;
  base::Status st = inner()->list(kind, fn);
  if (f && st.ok() && f->when == Fault::When::kAfter) return f->status;
  return st;
}

base::Status FaultBackend::truncate_file(const Handle& h, uint64_t new_size) {
  ASSIGN_OR_RETURN(base::Bytes data, inner()->load(h, 0, 0));
  if (new_size > data.size()) {
    return base::invalid_argument("truncate " + h.to_string() + ": file has only " +
                                  std::to_string(data.size()) + " bytes");
  }
  data.resize(static_cast<size_t>(new_size));
  RETURN_IF_ERROR(inner()->remove(h));
  return inner()->save(h, data);
}

base::Status FaultBackend::corrupt_byte(const Handle& h, uint64_t offset, uint8_t xor_mask) {
  ASSIGN_OR_RETURN(base::Bytes data, inner()->load(h, 0, 0));
  if (offset >= data.size()) {
    return base::invalid_argument("corrupt " + h.to_string() + ": offset " +
                                  std::to_string(offset) + " is past the end (" +
                                  std::to_string(data.size()) + " bytes)");
  }
  data[static_cast<size_t>(offset)] ^= xor_mask;
  RETURN_IF_ERROR(inner()->remove(h));
  return inner()->save(h, data);
}

}  // namespace kura::backend
