#include "repo/repository.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>

#include "chunker/chunker.h"
#include "crypto/keyfile.h"
#include "repo/gojson.h"

namespace kura::repo {

using backend::FileKind;
using backend::Handle;

namespace {

constexpr int kMaxKeysTried = 20;
// restic 0.14 (v2) flushes an index after this many blobs.
constexpr size_t kIndexMaxBlobs = 150000;
constexpr size_t kMaxUnpackedSize = 1ull << 30;

std::string now_text(base::Clock* clock) {
  base::Timespec t = clock->now();
  NodeTime nt{t.sec, t.nsec, clock->utc_offset(t.sec)};
  return format_go_time(nt);
}

}  // namespace

Repository::~Repository() {
  // Packs still in flight reference this object; wait for them.
  std::unique_lock<std::mutex> l(upload_mu_);
  upload_cv_.wait(l, [&] { return uploads_in_flight_ == 0; });
}

void Repository::set_write_options(const WriteOptions& w) { wopts_ = w; }

void Repository::use_cache(std::unique_ptr<Cache> cache,
                           std::function<void(const base::Status&)> warn) {
  cache_be_ = std::make_unique<CacheBackend>(std::move(cache), be_, std::move(warn));
  be_ = cache_be_.get();
}

base::StatusOr<std::unique_ptr<Repository>> Repository::init(backend::Backend* be,
                                                             std::string_view password,
                                                             const InitOptions& opts,
                                                             RepoDeps deps) {
  if (opts.version != 1 && opts.version != 2) {
    return base::invalid_argument("repository version must be 1 or 2");
  }
  auto existing = be->stat({FileKind::kConfig, ""});
  if (existing.ok()) {
    return base::already_exists("repository " + be->location() + " already exists (config file found)");
  }
  if (existing.status().code() != base::Code::kNotFound) {
    return existing.status().with_context("check " + be->location());
  }
  RETURN_IF_ERROR(be->create());

  std::unique_ptr<Repository> repo(new Repository(be, deps));
  repo->key_ = crypto::random_key(*deps.random);
  repo->config_.version = opts.version;
  uint8_t idb[32];
  deps.random->fill(idb);
  repo->config_.id = base::hex_encode(idb);
  repo->config_.chunker_polynomial = opts.chunker_polynomial
                                         ? opts.chunker_polynomial
                                         : chunker::random_polynomial(*deps.random);

  ASSIGN_OR_RETURN(repo->key_id_, repo->add_key(password, opts.kdf, opts.username, opts.hostname));
  base::Bytes sealed = crypto::seal(repo->key_, encode_config(repo->config_), *deps.random);
  RETURN_IF_ERROR(be->save({FileKind::kConfig, ""}, sealed));
  return repo;
}

base::StatusOr<std::unique_ptr<Repository>> Repository::open(backend::Backend* be,
                                                             std::string_view password,
                                                             RepoDeps deps,
                                                             std::string_view key_hint) {
  auto cfg_size = be->stat({FileKind::kConfig, ""});
  if (!cfg_size.ok()) {
    if (cfg_size.status().code() == base::Code::kNotFound) {
      return base::not_found("repository " + be->location() +
                             " does not exist (no config file); create it with `kura init`");
    }
    return cfg_size.status().with_context("open repository " + be->location());
  }
  std::unique_ptr<Repository> repo(new Repository(be, deps));

  std::vector<std::string> key_names;
  RETURN_IF_ERROR(be->list(FileKind::kKey, [&](const backend::FileEntry& e) {
    key_names.push_back(e.name);
    return base::ok_status();
  }));
  if (key_names.empty()) return base::unauthenticated("repository " + be->location() + " has no keys");
  int tried = 0;
  if (!key_hint.empty()) {
    std::vector<std::string>::iterator hinted = key_names.end();
    int matches = 0;
    for (auto it = key_names.begin(); it != key_names.end(); ++it) {
      if (it->rfind(key_hint, 0) == 0 && ++matches == 1) hinted = it;
    }
    if (matches == 1) {
      std::rotate(key_names.begin(), hinted, hinted + 1);
      tried = -1;  // the hint is not counted
    }
  }
  base::Status last = base::unauthenticated("wrong password or no key found");
  for (const auto& name : key_names) {
    if (tried++ >= kMaxKeysTried) break;
    auto data = be->load({FileKind::kKey, name}, 0, 0);
    if (!data.ok()) {
      last = data.status().with_context("load keys/" + name);
      continue;
    }
    auto key = crypto::open_key_file(*data, password);
    if (key.ok()) {
      repo->key_ = *key;
      repo->key_id_ = name;
      break;
    }
    if (key.status().code() != base::Code::kUnauthenticated) {
      last = key.status().with_context("keys/" + name);
    }
  }
  if (repo->key_id_.empty()) {
    if (last.code() == base::Code::kUnauthenticated) {
      return base::unauthenticated("wrong password or no key found for repository " + be->location());
    }
    return last;
  }

  ASSIGN_OR_RETURN(base::Bytes sealed, be->load({FileKind::kConfig, ""}, 0, 0));
  auto plain = crypto::open(repo->key_, sealed);
  if (!plain.ok()) return plain.status().with_context("config");
  auto cfg = decode_config(*plain);
  if (!cfg.ok()) return cfg.status();
  repo->config_ = *cfg;
  return repo;
}

base::StatusOr<std::vector<KeyInfo>> Repository::list_keys() {
  std::vector<KeyInfo> out;
  RETURN_IF_ERROR(be_->list(FileKind::kKey, [&](const backend::FileEntry& e) {
    KeyInfo info;
    info.id = e.name;
    info.current = e.name == key_id_;
    auto data = be_->load({FileKind::kKey, e.name}, 0, 0);
    if (data.ok()) {
      auto kf = crypto::parse_key_file(*data);
      if (kf.ok()) {
        info.username = kf->username;
        info.hostname = kf->hostname;
        info.created = kf->created;
      }
    }
    out.push_back(std::move(info));
    return base::ok_status();
  }));
  return out;
}

base::StatusOr<std::string> Repository::add_key(std::string_view password, const KdfParams& kdf,
                                                const std::string& username,
                                                const std::string& hostname) {
  crypto::KeyFileParams params;
  params.username = username;
  params.hostname = hostname;
  params.created = now_text(deps_.clock);
  params.n = kdf.n;
  params.r = kdf.r;
  params.p = kdf.p;
  ASSIGN_OR_RETURN(base::Bytes file, crypto::create_key_file(key_, password, params, *deps_.random));
  std::string id = hash_id(file).hex();
  RETURN_IF_ERROR(be_->save({FileKind::kKey, id}, file));
  return id;
}

base::Status Repository::remove_key(const std::string& id) {
  if (id == key_id_) {
    return base::failed_precondition("refusing to remove key " + id.substr(0, 8) +
                                     ": it is the key in use");
  }
  RETURN_IF_ERROR(be_->stat({FileKind::kKey, id}).status());
  return be_->remove({FileKind::kKey, id});
}

base::StatusOr<Id> Repository::save_unpacked(FileKind kind, base::ByteSpan plain) {
  if (commit_gate_ && (kind == FileKind::kIndex || kind == FileKind::kSnapshot)) {
    RETURN_IF_ERROR(commit_gate_());
  }
  base::Bytes payload;
  if (config_.version >= 2) {
    payload.push_back(2);
    zstd_compress(plain, zstd_level(CompressionMode::kAuto), payload);
  } else {
    payload.assign(plain.begin(), plain.end());
  }
  base::Bytes sealed = crypto::seal(key_, payload, *deps_.random);
  Id id = hash_id(sealed);
  RETURN_IF_ERROR(be_->save({kind, id.hex()}, sealed));
  return id;
}

base::StatusOr<base::Bytes> Repository::load_stored(FileKind kind, const Id& id) {
  Handle h{kind, id.hex()};
  ASSIGN_OR_RETURN(base::Bytes stored, be_->load(h, 0, 0));
  if (hash_id(stored) != id) {
    return base::data_loss(h.to_string() + ": content does not match its name (corrupted file)");
  }
  return stored;
}

base::StatusOr<base::Bytes> Repository::load_unpacked(FileKind kind, const Id& id) {
  ASSIGN_OR_RETURN(base::Bytes stored, load_stored(kind, id));
  return decode_unpacked(std::move(stored), Handle{kind, id.hex()}.to_string());
}

base::StatusOr<base::Bytes> Repository::decode_unpacked(base::Bytes stored, const std::string& what) {
  RETURN_IF_ERROR(decode_unpacked_into(stored, what, nullptr).status());
  return stored;
}

base::StatusOr<base::ByteSpan> Repository::decode_unpacked_into(base::Bytes& stored,
                                                                const std::string& what,
                                                                base::ScratchBuffer* scratch) {
  if (stored.size() < crypto::kCiphertextOverhead) {
    return crypto::open(key_, stored).status().with_context(what);  // the usual error
  }
  // Decrypted in place: a large index file is not held three times (stored, plain, JSON).
  base::MutableByteSpan plain(stored.data() + crypto::kIvSize,
                              stored.size() - crypto::kCiphertextOverhead);
  RETURN_IF_ERROR(crypto::open_into(key_, stored, plain).with_context(what));
  if (plain.empty()) return base::data_loss(what + ": empty file");
  uint8_t first = plain[0];
  if (first == '{' || first == '[' || config_.version < 2) {
    stored.erase(stored.begin(), stored.begin() + crypto::kIvSize);
    stored.resize(plain.size());
    return base::ByteSpan(stored);
  }
  if (first != 2) {
    return base::data_loss(what + ": not supported encoding format " + std::to_string(first));
  }
  base::ByteSpan frame = base::ByteSpan(plain).subspan(1);
  // Into the scratch buffer when the frame says how large it is: no zero-fill first.
  std::optional<uint64_t> size = scratch ? zstd_content_size(frame) : std::nullopt;
  if (size && *size > 0 && *size <= kMaxUnpackedSize) {
    scratch->reserve(*size);
    base::MutableByteSpan out(scratch->data(), *size);
    RETURN_IF_ERROR(zstd_decompress_into(frame, out).with_context(what));
    return base::ByteSpan(out);
  }
  auto out = zstd_decompress(frame, kMaxUnpackedSize);
  if (!out.ok()) return out.status().with_context(what);
  stored = std::move(*out);
  return base::ByteSpan(stored);
}

base::StatusOr<std::vector<Id>> Repository::list_ids(FileKind kind) {
  std::vector<Id> out;
  RETURN_IF_ERROR(be_->list(kind, [&](const backend::FileEntry& e) {
    auto id = Id::parse(e.name);
    if (id.ok()) out.push_back(*id);
    return base::ok_status();
  }));
  std::sort(out.begin(), out.end());
  return out;
}

base::StatusOr<Id> Repository::find_id(FileKind kind, std::string_view prefix) {
  if (prefix.empty()) return base::invalid_argument("empty id");
  ASSIGN_OR_RETURN(auto ids, list_ids(kind));
  std::optional<Id> found;
  for (const Id& id : ids) {
    if (id.hex().compare(0, prefix.size(), prefix) == 0) {
      if (found) {
        return base::invalid_argument("id prefix \"" + std::string(prefix) + "\" is ambiguous");
      }
      found = id;
    }
  }
  if (!found) {
    return base::not_found(std::string(backend::kind_dir(kind)) + " \"" + std::string(prefix) +
                           "\" not found");
  }
  return *found;
}

base::Status Repository::load_index() {
  ASSIGN_OR_RETURN(auto ids, list_ids(FileKind::kIndex));
  // A second call (mount, when new snapshots appear) adds only the index files not yet loaded.
  std::erase_if(ids, [&](const Id& id) {
    return std::find(index_files_.begin(), index_files_.end(), id) != index_files_.end();
  });
  // Files are decoded in parallel but enter the index in listing order (the same pack wins for
  // a blob listed twice, every run), each as soon as those before it are in: decoded files
  // wait only while an earlier one is still loading, not until all are.
  std::vector<std::optional<std::vector<IndexPack>>> loaded(ids.size());
  std::mutex order_mu;
  size_t next = 0;
  {
    base::ThreadPool pool(std::max(2, be_->parallelism()));
    base::TaskGroup group(&pool);
    for (size_t i = 0; i < ids.size(); ++i) {
      group.run([&, i]() -> base::Status {
        std::vector<IndexPack> packs;
        {
          // The JSON (12 MB for 150,000 blobs) goes to a buffer that is not zero-filled.
          // (The pool's threads, and their buffers, end with this load.)
          ASSIGN_OR_RETURN(base::Bytes stored, load_stored(FileKind::kIndex, ids[i]));
          thread_local base::ScratchBuffer scratch;
          ASSIGN_OR_RETURN(base::ByteSpan json,
                           decode_unpacked_into(stored, Handle{FileKind::kIndex, ids[i].hex()}.to_string(), &scratch));
          auto decoded = decode_index_json(json);
          if (!decoded.ok()) return decoded.status().with_context("index/" + ids[i].hex());
          packs = std::move(*decoded);
        }
        std::lock_guard<std::mutex> ol(order_mu);
        loaded[i] = std::move(packs);
        std::unique_lock<std::shared_mutex> l(index_mu_);
        for (; next < loaded.size() && loaded[next]; ++next) {
          size_t blobs = 0;
          for (const auto& p : *loaded[next]) blobs += p.blobs.size();
          index_.reserve(index_.size() + blobs);
          for (auto& p : *loaded[next]) {
            uint32_t n = index_.intern_pack(p.id);
            for (const auto& b : p.blobs) index_.add(b, n);
          }
          loaded[next].reset();
        }
        return base::ok_status();
      });
    }
    RETURN_IF_ERROR(group.wait());
  }
  std::unique_lock<std::shared_mutex> l(index_mu_);
  index_files_.insert(index_files_.end(), ids.begin(), ids.end());
  if (cache_be_) cache_be_->retain_tree_packs(index_);
  return base::ok_status();
}

namespace {
constexpr size_t kKeepBufferBytes = 4 << 20;
constexpr size_t kScratchGranule = 256 << 10;  // a sealing buffer grows in these steps
}  // namespace

bool Repository::has_blob(BlobType type, const Id& id) const {
  std::shared_lock<std::shared_mutex> l(index_mu_);
  return index_.has(id, type);
}

base::StatusOr<bool> Repository::claim_blob(BlobType type, const Id& id, SaveBlobOptions opts) {
  int t = static_cast<int>(type);
  {
    std::unique_lock<std::shared_mutex> l(index_mu_);
    if ((!opts.store_duplicate && index_.has(id, type)) || !in_flight_[t].insert(id).second) return false;
  }
  std::lock_guard<std::mutex> l(upload_mu_);
  if (!upload_error_.ok()) return upload_error_;
  return true;
}

base::StatusOr<bool> Repository::save_blob(BlobType type, const Id& id, base::ByteSpan plain,
                                           SaveBlobOptions opts) {
  ASSIGN_OR_RETURN(bool claimed, claim_blob(type, id, opts));
  if (!claimed) return false;

  // One buffer per thread: the blob is compressed straight to where its ciphertext goes and
  // encrypted in place (IV || body || MAC). Not zero-filled: only what is written is touched.
  thread_local base::ScratchBuffer sealed;
  uint32_t ulen = 0;
  bool compress = config_.version >= 2 && !plain.empty() &&
                  (type == BlobType::kTree || wopts_.compression != CompressionMode::kOff);
  size_t need = crypto::kCiphertextOverhead + (compress ? zstd_compress_bound(plain.size()) : plain.size());
  sealed.reserve((need + kScratchGranule - 1) / kScratchGranule * kScratchGranule);
  base::MutableByteSpan room(sealed.data() + crypto::kIvSize, need - crypto::kCiphertextOverhead);
  size_t body = plain.size();
  if (compress) {
    int level = zstd_level(type == BlobType::kTree && wopts_.compression == CompressionMode::kOff
                               ? CompressionMode::kAuto
                               : wopts_.compression);
    body = zstd_compress_into(plain, level, room);
    ulen = static_cast<uint32_t>(plain.size());
  } else if (body > 0) {
    std::memcpy(room.data(), plain.data(), body);
  }
  base::MutableByteSpan blob(sealed.data(), body + crypto::kCiphertextOverhead);
  crypto::seal(key_, base::ByteSpan(room.data(), body), blob, *deps_.random);
  added_bytes_ += plain.size();
  if (opts.stored_size) *opts.stored_size = blob.size();
  base::Status st = append_blob(type, id, blob, ulen);
  // The rare chunk of several MiB does not pin its buffer in every thread that met one.
  sealed.trim(kKeepBufferBytes);
  RETURN_IF_ERROR(st);
  return true;
}

base::StatusOr<bool> Repository::save_sealed_blob(BlobType type, const Id& id, base::ByteSpan sealed,
                                                  uint32_t uncompressed_length, SaveBlobOptions opts) {
  ASSIGN_OR_RETURN(bool claimed, claim_blob(type, id, opts));
  if (!claimed) return false;
  if (sealed.size() >= crypto::kCiphertextOverhead) {
    added_bytes_ += uncompressed_length ? uncompressed_length : sealed.size() - crypto::kCiphertextOverhead;
  }
  if (opts.stored_size) *opts.stored_size = sealed.size();
  RETURN_IF_ERROR(append_blob(type, id, sealed, uncompressed_length));
  return true;
}

base::Status Repository::append_blob(BlobType type, const Id& id, base::ByteSpan blob, uint32_t ulen) {
  int t = static_cast<int>(type);
  std::unique_ptr<PackWriter> full, header_full;
  {
    std::lock_guard<std::mutex> l(pack_mu_[t]);
    base::Status st;
    // Many tiny blobs fill the header before the pack reaches its size.
    if (packers_[t] && packers_[t]->header_full()) header_full = std::move(packers_[t]);
    if (!packers_[t]) {
      auto file = be_->stage(FileKind::kPack);
      if (file.ok()) {
        packers_[t] = std::make_unique<PackWriter>(*std::move(file));
      } else {
        st = file.status();
      }
    }
    if (st.ok()) st = packers_[t]->add(id, type, blob, ulen);
    if (!st.ok()) {
      // The pack is lost with the blobs already in it: the whole save fails.
      packers_[t].reset();
      std::lock_guard<std::mutex> ul(upload_mu_);
      if (upload_error_.ok()) upload_error_ = st.with_context("write pack");
      return upload_error_;
    }
    if (packers_[t]->size() >= wopts_.pack_size) full = std::move(packers_[t]);
  }
  if (header_full) RETURN_IF_ERROR(upload_pack(type, std::move(header_full)));
  if (full) RETURN_IF_ERROR(upload_pack(type, std::move(full)));
  return base::ok_status();
}

base::Status Repository::upload_pack(BlobType type, std::unique_ptr<PackWriter> pack) {
  int threads = wopts_.upload_threads > 0 ? wopts_.upload_threads : be_->parallelism();
  {
    std::unique_lock<std::mutex> l(upload_mu_);
    if (!upload_pool_) upload_pool_ = std::make_unique<base::ThreadPool>(threads);
    // Bound the staged files waiting (and their disk space): one per upload thread; the
    // writer that filled the next one waits.
    upload_cv_.wait(l, [&] { return uploads_in_flight_ < threads; });
    if (!upload_error_.ok()) return upload_error_;
    ++uploads_in_flight_;
  }
  std::shared_ptr<PackWriter> shared(std::move(pack));
  upload_pool_->submit([this, type, shared] {
    std::vector<PackedBlob> blobs = shared->blobs();
    auto pack_id = shared->finish(key_, *deps_.random);
    base::Status st = pack_id.status();
    uint64_t size = shared->file().size();
    // A backup whose lock is lost stops at its next pack, rather than upload for hours what
    // it could never commit.
    if (st.ok()) st = check_commit_gate();
    if (st.ok()) st = be_->save_staged({FileKind::kPack, pack_id->hex(), type == BlobType::kTree}, shared->file());
    if (st.ok()) {
      added_packed_ += size;
      ++added_packs_;
      {
        std::unique_lock<std::shared_mutex> l(index_mu_);
        uint32_t n = index_.intern_pack(*pack_id);
        for (const auto& b : blobs) {
          index_.add(b, n);
          in_flight_[static_cast<int>(type)].erase(b.id);
        }
      }
      std::lock_guard<std::mutex> l(pending_index_mu_);
      pending_index_blobs_ += blobs.size();
      pending_index_.push_back({*pack_id, std::move(blobs)});
    }
    if (st.ok()) st = write_pending_index(false);
    std::lock_guard<std::mutex> l(upload_mu_);
    if (!st.ok() && upload_error_.ok()) upload_error_ = st.with_context("upload pack");
    --uploads_in_flight_;
    upload_cv_.notify_all();
  });
  return base::ok_status();
}

base::Status Repository::write_pending_index(bool all) {
  std::vector<IndexPack> packs;
  {
    std::lock_guard<std::mutex> l(pending_index_mu_);
    if (pending_index_.empty() || (!all && pending_index_blobs_ < kIndexMaxBlobs)) {
      return base::ok_status();
    }
    packs.swap(pending_index_);
    pending_index_blobs_ = 0;
  }
  return write_index(packs).status();
}

base::StatusOr<Id> Repository::write_index(const std::vector<IndexPack>& packs) {
  ASSIGN_OR_RETURN(Id id, save_unpacked(FileKind::kIndex, encode_index_json(packs)));
  std::unique_lock<std::shared_mutex> l(index_mu_);
  index_files_.push_back(id);
  return id;
}

base::Status Repository::flush() {
  for (int t = 0; t < 2; ++t) {
    std::unique_ptr<PackWriter> pack;
    {
      std::lock_guard<std::mutex> l(pack_mu_[t]);
      if (packers_[t] && !packers_[t]->empty()) pack = std::move(packers_[t]);
    }
    if (pack) RETURN_IF_ERROR(upload_pack(static_cast<BlobType>(t), std::move(pack)));
  }
  {
    std::unique_lock<std::mutex> l(upload_mu_);
    upload_cv_.wait(l, [&] { return uploads_in_flight_ == 0; });
    if (!upload_error_.ok()) return upload_error_;
  }
  return write_pending_index(true);
}

base::Status Repository::decode_blob_into(const PackedBlob& blob, base::ByteSpan stored,
                                          base::MutableByteSpan out) {
  // Built only when something fails: this runs once per blob restored or checked.
  auto what = [&] { return std::string(blob_type_name(blob.type)) + " blob " + blob.id.hex(); };
  if (stored.size() != blob.length || blob.length < crypto::kCiphertextOverhead) {
    return base::data_loss(what() + ": stored length mismatch");
  }
  if (out.size() != blob.plain_length()) return base::internal_error(what() + ": bad output size");
  base::Status st;
  if (blob.compressed()) {
    // Grows only, and is never zero-filled.
    thread_local base::ScratchBuffer tmp;
    size_t n = stored.size() - crypto::kCiphertextOverhead;
    tmp.reserve(n);
    base::MutableByteSpan t(tmp.data(), n);
    st = crypto::open_into(key_, stored, t);
    if (st.ok()) st = zstd_decompress_into(t, out);
  } else {
    st = crypto::open_into(key_, stored, out);
  }
  if (!st.ok()) return st.with_context(what());
  if (hash_id(out) != blob.id) return base::data_loss(what() + ": content does not match its id");
  return base::ok_status();
}

base::StatusOr<base::Bytes> Repository::decode_blob(const PackedBlob& blob, base::ByteSpan stored) {
  if (blob.length < crypto::kCiphertextOverhead) {
    return base::data_loss("blob " + blob.id.hex() + ": too short");
  }
  base::Bytes out(blob.plain_length());
  RETURN_IF_ERROR(decode_blob_into(blob, stored, out));
  return out;
}

base::StatusOr<base::Bytes> Repository::load_blob(BlobType type, const Id& id) {
  std::vector<std::pair<Id, PackedBlob>> where;
  {
    std::shared_lock<std::shared_mutex> l(index_mu_);
    for (const IndexEntry* e : index_.find_all(id, type)) where.emplace_back(index_.pack_id(e->pack), e->blob());
  }
  if (where.empty()) {
    return base::not_found(std::string(blob_type_name(type)) + " blob " + id.hex() +
                           " is not in the index");
  }
  base::Status last;
  for (const auto& [pack, blob] : where) {
    auto stored = be_->load({FileKind::kPack, pack.hex(), type == BlobType::kTree}, blob.offset,
                             blob.length);
    if (!stored.ok()) {
      last = stored.status().with_context("load pack " + pack.hex());
      continue;
    }
    auto plain = decode_blob(blob, *stored);
    if (plain.ok()) return plain;
    last = plain.status().with_context("pack " + pack.short_hex());
  }
  return last;
}

base::StatusOr<std::vector<PackedBlob>> Repository::read_pack_header(const Id& pack, uint64_t size) {
  Handle h{FileKind::kPack, pack.hex()};
  if (size == 0) {
    ASSIGN_OR_RETURN(size, be_->stat(h));
  }
  uint64_t tail_len = std::min<uint64_t>(size, 16 * 1024);
  ASSIGN_OR_RETURN(base::Bytes tail, be_->load(h, size - tail_len, tail_len));
  auto blobs = parse_pack_tail(key_, tail, size, config_.version);
  if (!blobs.ok() && blobs.status().code() == base::Code::kOutOfRange) {
    uint32_t hlen = base::load_le32(tail.data() + tail.size() - 4);
    tail_len = hlen + 4ull;
    ASSIGN_OR_RETURN(tail, be_->load(h, size - tail_len, tail_len));
    blobs = parse_pack_tail(key_, tail, size, config_.version);
  }
  if (!blobs.ok()) return blobs.status().with_context("pack " + pack.hex());
  return blobs;
}

}  // namespace kura::repo
