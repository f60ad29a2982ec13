// FaultBackend: a test wrapper that injects failures into another backend: failing the Nth
// call of an operation, losing the response of a save that did succeed, corrupting data in
// transit, a full disk, and damage to stored files (truncation, a flipped byte).
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "backend/forwarding_backend.h"

namespace kura::backend {

enum class FaultOp : uint8_t { kAny, kCreate, kStat, kSave, kLoad, kRemove, kList };

struct Fault {
  enum class When : uint8_t {
    kBefore,         // report status without calling the inner backend
    kAfter,          // perform the call, then report status anyway (a lost response)
    kCorruptResult,  // load only: flip a bit in the middle of the returned bytes
  };
  FaultOp op = FaultOp::kAny;
  std::optional<FileKind> kind;  // only calls on this kind (list: the kind listed)
  int skip = 0;                  // let this many matching calls through first
  int times = 1;                 // then inject this many times; -1: forever
  When when = When::kBefore;
  base::Status status = base::unavailable("injected fault");
};

class FaultBackend : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;

  void add(Fault fault);
  // The nth matching call from now (1-based) fails with status.
  void fail_nth(FaultOp op, int n, base::Status status);
  // The nth save from now is stored but answers unavailable, as if the response was lost.
  void drop_response_after_save(int n = 1);
  // While on, every save fails with resource_exhausted and stores nothing.
  void set_full_disk(bool full);
  // Saves that would take the bytes saved from now past `bytes` fail like a full disk;
  // nullopt: no limit.
  void set_free_space(std::optional<uint64_t> bytes);
  // Forgets every fault and limit (not the counters).
  void clear();

  // Damage a stored file in place (rewritten through the inner backend).
  base::Status truncate_file(const Handle& h, uint64_t new_size);
  base::Status corrupt_byte(const Handle& h, uint64_t offset, uint8_t xor_mask = 0x01);

  // Calls seen so far of op (kAny: all), and faults injected.
  int calls(FaultOp op) const;
  int injected() const;

  base::Status create() override;
  base::StatusOr<uint64_t> stat(const Handle& h) override;
  base::Status save(const Handle& h, base::ByteSpan data) override;
  // Through save(), so that every fault applies to staged files too.
  base::Status save_staged(const Handle& h, StagedFile& file) override {
    return Backend::save_staged(h, file);
  }
  base::StatusOr<base::Bytes> load(const Handle& h, uint64_t offset, uint64_t length) override;
  // Through load(), so its faults apply.
  base::Status load_into(const Handle& h, uint64_t offset, base::MutableByteSpan out) override {
    return Backend::load_into(h, offset, out);
  }
  base::Status remove(const Handle& h) override;
  base::Status list(FileKind kind,
                    const std::function<base::Status(const FileEntry&)>& fn) override;

 private:
  // Counts the call and returns the fault to inject, if any.
  std::optional<Fault> next(FaultOp op, std::optional<FileKind> kind);

  mutable std::mutex mu_;
  std::vector<Fault> faults_;
  bool full_disk_ = false;
  std::optional<uint64_t> free_space_;
  std::array<int, 7> calls_{};
  int injected_ = 0;
};

}  // namespace kura::backend
