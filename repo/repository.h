// Repository: an open restic repository (format v1 or v2) on some Backend. Owns the master
// key, the config and the in-memory index; saves blobs into packs and unpacked files (index,
// snapshots, locks); loads and verifies everything it reads. Thread-safe where noted.
//
// Write order (crash safety, RESTIC_FORMAT.md §11): packs are uploaded first, then the index
// files that list them (flush()), and only then may a snapshot refer to their blobs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "backend/backend.h"
#include "base/clock.h"
#include "base/thread_pool.h"
#include "crypto/crypto.h"
#include "crypto/random.h"
#include "repo/blob.h"
#include "repo/cache.h"
#include "repo/compress.h"
#include "repo/config.h"
#include "repo/index.h"
#include "repo/pack.h"

namespace kura::repo {

struct RepoDeps {
  crypto::RandomSource* random = crypto::system_random();
  base::Clock* clock = base::system_clock();
};

struct KdfParams {
  uint64_t n = 32768;
  uint32_t r = 8;
  uint32_t p = 5;
};

struct InitOptions {
  int version = 2;
  uint64_t chunker_polynomial = 0;  // 0: a fresh random one
  KdfParams kdf;
  std::string username, hostname;
};

struct WriteOptions {
  CompressionMode compression = CompressionMode::kAuto;
  uint64_t pack_size = 16 * 1024 * 1024;
  int upload_threads = 0;  // 0: backend->parallelism()
};

struct SaveBlobOptions {
  // Store it even if the index has it already (prune moves blobs out of packs it is about to
  // delete). A blob in an open or uploading pack is still stored once.
  bool store_duplicate = false;
  // When set and this call stores the blob: its size in the pack (encrypted and, if so,
  // compressed), restic's "size in repo".
  uint64_t* stored_size = nullptr;
};

struct KeyInfo {
  std::string id;  // file name
  std::string username, hostname, created;
  bool current = false;
};

class Repository {
 public:
  ~Repository();

  // Creates a new repository: fails with already_exists if `config` is there.
  static base::StatusOr<std::unique_ptr<Repository>> init(backend::Backend* be,
                                                          std::string_view password,
                                                          const InitOptions& opts,
                                                          RepoDeps deps = {});
  // Opens with the first of at most 20 key files the password opens. A key_hint (restic's
  // --key-hint: a key file name or unique prefix) is tried first and not counted among the 20;
  // a hint that names no key is ignored, as restic does.
  static base::StatusOr<std::unique_ptr<Repository>> open(backend::Backend* be,
                                                          std::string_view password,
                                                          RepoDeps deps = {},
                                                          std::string_view key_hint = {});

  backend::Backend* backend() const { return be_; }
  // From now on every read and write goes through a local cache (restic's UseCache); warn
  // hears of the first cache write that fails. Call before concurrent use.
  void use_cache(std::unique_ptr<Cache> cache, std::function<void(const base::Status&)> warn);
  CacheBackend* cache() const { return cache_be_.get(); }
  const Config& config() const { return config_; }
  int version() const { return config_.version; }
  const crypto::Key& key() const { return key_; }
  const std::string& key_id() const { return key_id_; }
  RepoDeps deps() const { return deps_; }
  void set_write_options(const WriteOptions& w);

  // --- keys ---
  base::StatusOr<std::vector<KeyInfo>> list_keys();
  // Adds a key file for another password; returns its id.
  base::StatusOr<std::string> add_key(std::string_view password, const KdfParams& kdf,
                                      const std::string& username, const std::string& hostname);
  base::Status remove_key(const std::string& id);

  // --- unpacked files (index, snapshots, locks) ---
  // Index and snapshot files are commits: each waits for the commit gate (if set) first.
  base::StatusOr<Id> save_unpacked(backend::FileKind kind, base::ByteSpan plain);
  // A check every commit must pass first: that the lock is still held (RepoLock::held: the
  // second look for other locks done, the lock file there and fresh). Not thread-safe against concurrent commits: set before the work.
  void set_commit_gate(std::function<base::Status()> gate) { commit_gate_ = std::move(gate); }
  // The gate's verdict now (OK without one): prune asks before it deletes anything.
  base::Status check_commit_gate() const { return commit_gate_ ? commit_gate_() : base::ok_status(); }
  base::StatusOr<base::Bytes> load_unpacked(backend::FileKind kind, const Id& id);
  // The file's stored bytes, checked against its name (the SHA-256 of its content).
  base::StatusOr<base::Bytes> load_stored(backend::FileKind kind, const Id& id);
  // Decrypts (in place) and for v2 decompresses the bytes of an unpacked file already read.
  base::StatusOr<base::Bytes> decode_unpacked(base::Bytes stored, const std::string& what);
  // The same, leaving the plaintext in stored or, when scratch is given and the zstd frame
  // records its size, decompressed into *scratch, which is not zero-filled first (a large
  // file read once, such as an index).
  base::StatusOr<base::ByteSpan> decode_unpacked_into(base::Bytes& stored, const std::string& what,
                                                      base::ScratchBuffer* scratch);
  // Names of all files of a kind, parsed as ids (others are skipped).
  base::StatusOr<std::vector<Id>> list_ids(backend::FileKind kind);
  // Resolves a unique id prefix ("latest" is not handled here).
  base::StatusOr<Id> find_id(backend::FileKind kind, std::string_view prefix);

  // --- index ---
  // Loads every index file not loaded yet (in parallel). Thread-compatible: call before
  // concurrent use.
  base::Status load_index();
  // Index files loaded by load_index / written since.
  const std::vector<Id>& index_files() const { return index_files_; }
  // Shared read access to the index.
  template <typename Fn>
  auto with_index(Fn&& fn) const {
    std::shared_lock<std::shared_mutex> l(index_mu_);
    return fn(index_);
  }
  bool has_blob(BlobType type, const Id& id) const;

  // --- blobs (thread-safe) ---
  // Stores a blob unless the index or an in-flight pack already has it. `id` must be the
  // SHA-256 of `plain`. Returns true if this call stored it.
  base::StatusOr<bool> save_blob(BlobType type, const Id& id, base::ByteSpan plain,
                                 SaveBlobOptions opts = {});
  // The same for a blob as a pack holds it, encrypted with this repository's key (IV ||
  // ciphertext || MAC) and compressed if uncompressed_length > 0: stored without re-encoding.
  base::StatusOr<bool> save_sealed_blob(BlobType type, const Id& id, base::ByteSpan sealed,
                                        uint32_t uncompressed_length, SaveBlobOptions opts = {});
  // Finishes open packs, waits for uploads and writes the index for everything saved.
  base::Status flush();
  // Bytes and packs added by save_blob since open.
  uint64_t added_bytes() const { return added_bytes_.load(); }      // plaintext
  uint64_t added_packed_bytes() const { return added_packed_.load(); }  // stored
  uint64_t added_packs() const { return added_packs_.load(); }

  // Loads, decrypts, decompresses and verifies a blob, trying every known location.
  base::StatusOr<base::Bytes> load_blob(BlobType type, const Id& id);
  // Decodes one blob from its stored bytes (already read from the pack) into plaintext and
  // checks its hash. `what` names it in errors.
  base::StatusOr<base::Bytes> decode_blob(const PackedBlob& blob, base::ByteSpan stored);
  base::Status decode_blob_into(const PackedBlob& blob, base::ByteSpan stored, base::MutableByteSpan out);

  // Reads a pack's header from the backend (size from the listing, or 0 to stat).
  base::StatusOr<std::vector<PackedBlob>> read_pack_header(const Id& pack, uint64_t size);

  // Writes an index file for the given packs (used by prune and by flush).
  base::StatusOr<Id> write_index(const std::vector<IndexPack>& packs);

 private:
  Repository(backend::Backend* be, RepoDeps deps) : be_(be), deps_(deps) {}
  base::Status upload_pack(BlobType type, std::unique_ptr<PackWriter> pack);
  // Reserves (type, id) for this caller: false if it is stored or being stored already.
  base::StatusOr<bool> claim_blob(BlobType type, const Id& id, SaveBlobOptions opts);
  // Appends a sealed blob to the open pack of its type; uploads the pack once full.
  base::Status append_blob(BlobType type, const Id& id, base::ByteSpan sealed, uint32_t ulen);
  base::Status write_pending_index(bool all);

  backend::Backend* be_;
  std::unique_ptr<CacheBackend> cache_be_;  // be_ points to it when set
  RepoDeps deps_;
  crypto::Key key_;
  std::string key_id_;
  Config config_;
  WriteOptions wopts_;
  std::function<base::Status()> commit_gate_;

  mutable std::shared_mutex index_mu_;
  Index index_;
  std::unordered_set<Id, IdHash> in_flight_[2];  // guarded by index_mu_
  std::vector<Id> index_files_;

  std::mutex pack_mu_[2];
  std::unique_ptr<PackWriter> packers_[2];  // packs being filled, in staged files

  std::mutex upload_mu_;
  std::condition_variable upload_cv_;
  int uploads_in_flight_ = 0;
  base::Status upload_error_;
  std::unique_ptr<base::ThreadPool> upload_pool_;

  std::mutex pending_index_mu_;
  std::vector<IndexPack> pending_index_;
  size_t pending_index_blobs_ = 0;

  std::atomic<uint64_t> added_bytes_{0}, added_packed_{0}, added_packs_{0};
};

}  // namespace kura::repo
