#include "ops/dump.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "base/thread_pool.h"
#include "ops/filter.h"
#include "ops/walk.h"
#include "repo/mode.h"
#include "repo/tree.h"

namespace kura::ops {
namespace {

using repo::Id;
using repo::Node;
using repo::NodeType;

// ---- BlobPipeline: data blobs in order, loaded ahead on a pool ----

// The caller pushes blob IDs in the order it will consume them and takes them back with next().
// Loads run ahead while fewer than max_ahead plaintext bytes are held; runs of blobs that lie
// next to each other in one pack are fetched with one request. Recently consumed blobs are
// kept a while, so a blob that repeats (runs of zeros) is not fetched again.
class BlobPipeline {
 public:
  BlobPipeline(repo::Repository& repo, int threads, size_t max_ahead)
      : repo_(repo), threads_(threads), max_ahead_(max_ahead), pool_(threads) {}

  ~BlobPipeline() {
    std::unique_lock<std::mutex> l(mu_);
    stopping_ = true;
    cv_.wait(l, [&] { return in_flight_ == 0; });
  }

  // Room for more: everything pushed is loading, and the byte budget is not used up.
  bool wants_more() {
    std::lock_guard<std::mutex> l(mu_);
    return next_to_start_ >= queue_.size() && ahead_bytes_ < max_ahead_ && queue_.size() < kMaxQueue;
  }

  void push(const Id& id) {
    std::lock_guard<std::mutex> l(mu_);
    std::shared_ptr<Slot> slot;
    if (auto it = cache_.find(id); it != cache_.end()) {
      slot = it->second;
      if (slot->uses == 0) {  // revive from the recently-used list
        lru_.erase(slot->lru_pos);
        lru_bytes_ -= slot->size;
        ahead_bytes_ += slot->size;
      }
    } else {
      slot = std::make_shared<Slot>();
      slot->id = id;
      repo_.with_index([&](const repo::Index& idx) {
        if (const repo::IndexEntry* e = idx.find(id, repo::BlobType::kData)) {
          slot->indexed = true;
          slot->blob = e->blob();
          slot->pack = idx.pack_id(e->pack);
          slot->size = slot->blob.plain_length();
        }
        return 0;
      });
      cache_.emplace(id, slot);
      ahead_bytes_ += slot->size;
    }
    ++slot->uses;
    queue_.push_back(slot);
    start_more();
  }

  base::StatusOr<std::shared_ptr<const base::Bytes>> next() {
    std::unique_lock<std::mutex> l(mu_);
    if (queue_.empty()) return base::internal_error("dump: no blob queued");
    std::shared_ptr<Slot> slot = queue_.front();
    if (!slot->started) start_more(true);
    cv_.wait(l, [&] { return slot->done; });
    queue_.pop_front();
    if (next_to_start_ > 0) --next_to_start_;
    auto data = slot->data;
    if (--slot->uses == 0) {
      ahead_bytes_ -= slot->size;
      if (data.ok() && slot->size <= kKeepBytes) {
        lru_.push_front(slot);
        slot->lru_pos = lru_.begin();
        lru_bytes_ += slot->size;
        while (lru_bytes_ > kKeepBytes) {
          std::shared_ptr<Slot> old = lru_.back();
          lru_.pop_back();
          lru_bytes_ -= old->size;
          cache_.erase(old->id);
        }
      } else {
        cache_.erase(slot->id);
      }
    }
    start_more();
    return data;
  }

 private:
  static constexpr size_t kMaxQueue = 4096;
  static constexpr size_t kKeepBytes = 16u << 20;
  static constexpr uint64_t kMaxGap = 256u << 10;    // read over gaps this small
  static constexpr uint64_t kMaxRead = 16u << 20;    // bytes per request

  struct Slot {
    Id id;
    bool indexed = false;
    repo::PackedBlob blob;
    Id pack;
    size_t size = 0;
    int uses = 0;  // queue entries referring to it
    bool started = false, done = false;
    base::StatusOr<std::shared_ptr<const base::Bytes>> data = base::internal_error("not loaded");
    std::list<std::shared_ptr<Slot>>::iterator lru_pos;
  };

  // Called with mu_ held. `force`: start the front even if the budget is used up (a single
  // blob larger than the budget must still go through).
  void start_more(bool force = false) {
    while (!stopping_ && next_to_start_ < queue_.size() && in_flight_ < 2 * threads_ &&
           (force || started_bytes_ < max_ahead_)) {
      force = false;
      std::shared_ptr<Slot> first = queue_[next_to_start_];
      if (first->started) {
        ++next_to_start_;
        continue;
      }
      std::vector<std::shared_ptr<Slot>> run{first};
      first->started = true;
      started_bytes_ += first->size;
      ++next_to_start_;
      // Extend the request over the following blobs stored right after this one.
      while (first->indexed && next_to_start_ < queue_.size()) {
        const std::shared_ptr<Slot>& s = queue_[next_to_start_];
        const Slot& last = *run.back();
        uint64_t end = uint64_t(last.blob.offset) + last.blob.length;
        if (s->started || !s->indexed || s->pack != first->pack || s->blob.offset < end ||
            s->blob.offset - end > kMaxGap ||
            uint64_t(s->blob.offset) + s->blob.length - first->blob.offset > kMaxRead) {
          break;
        }
        s->started = true;
        started_bytes_ += s->size;
        run.push_back(s);
        ++next_to_start_;
      }
      ++in_flight_;
      pool_.submit([this, run = std::move(run)] { load(run); });
    }
  }

  void load(const std::vector<std::shared_ptr<Slot>>& run) {
    std::vector<base::StatusOr<std::shared_ptr<const base::Bytes>>> out;
    const Slot& first = *run.front();
    base::StatusOr<base::Bytes> stored = base::internal_error("not read");
    if (first.indexed) {
      const Slot& last = *run.back();
      uint64_t len = uint64_t(last.blob.offset) + last.blob.length - first.blob.offset;
      stored = repo_.backend()->load({backend::FileKind::kPack, first.pack.hex()}, first.blob.offset, len);
    }
    for (const auto& s : run) {
      base::StatusOr<base::Bytes> plain = base::internal_error("not decoded");
      if (stored.ok() && s->indexed && uint64_t(s->blob.offset - first.blob.offset) + s->blob.length <= stored->size()) {
        plain = repo_.decode_blob(s->blob, base::ByteSpan(*stored).subspan(s->blob.offset - first.blob.offset, s->blob.length));
      }
      // Anything wrong with the combined read: the per-blob path, which tries every copy.
      if (!plain.ok()) plain = repo_.load_blob(repo::BlobType::kData, s->id);
      if (plain.ok()) {
        out.emplace_back(std::make_shared<const base::Bytes>(std::move(*plain)));
      } else {
        out.emplace_back(plain.status());
      }
    }
    std::lock_guard<std::mutex> l(mu_);
    for (size_t i = 0; i < run.size(); ++i) {
      run[i]->data = std::move(out[i]);
      run[i]->done = true;
      started_bytes_ -= run[i]->size;
    }
    --in_flight_;
    cv_.notify_all();
    start_more();
  }

  repo::Repository& repo_;
  int threads_;
  size_t max_ahead_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Slot>> queue_;
  size_t next_to_start_ = 0;  // queue_ index of the first blob not started yet
  std::unordered_map<Id, std::shared_ptr<Slot>, repo::IdHash> cache_;
  std::list<std::shared_ptr<Slot>> lru_;
  size_t lru_bytes_ = 0;
  size_t ahead_bytes_ = 0;    // bytes of blobs queued and not consumed
  size_t started_bytes_ = 0;  // bytes being loaded right now
  int in_flight_ = 0;
  bool stopping_ = false;
  base::ThreadPool pool_;  // last: joined first
};

// ---- libarchive output ----

// libarchive converts names between the C library's current character set and what the format
// stores (UTF-8 in pax and zip). Node names are raw bytes, in practice UTF-8, while the process
// may run in the "C" locale, where any non-ASCII name fails to convert. So this thread uses a
// UTF-8 LC_CTYPE while it writes the archive (uselocale is per thread; nothing else changes).
class Utf8Ctype {
 public:
  Utf8Ctype() {
    for (const char* name : {"C.UTF-8", "C.utf8", "en_US.UTF-8"}) {
      loc_ = newlocale(LC_CTYPE_MASK, name, static_cast<locale_t>(0));
      if (loc_) break;
    }
    if (loc_) prev_ = uselocale(loc_);
  }
  ~Utf8Ctype() {
    if (!loc_) return;
    uselocale(prev_);
    freelocale(loc_);
  }
  bool active() const { return loc_ != static_cast<locale_t>(0); }
  Utf8Ctype(const Utf8Ctype&) = delete;
  Utf8Ctype& operator=(const Utf8Ctype&) = delete;

 private:
  locale_t loc_ = static_cast<locale_t>(0);
  locale_t prev_ = static_cast<locale_t>(0);
};

struct ArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

class ArchiveWriter {
 public:
  explicit ArchiveWriter(ByteSink& sink) : sink_(sink) {}
  // Call with a Utf8Ctype in place on this thread (see there); `utf8` tells whether it took.
  static base::StatusOr<std::unique_ptr<ArchiveWriter>> open(ArchiveFormat format, ByteSink& sink,
                                                             bool utf8) {
    auto w = std::make_unique<ArchiveWriter>(sink);
    w->a_.reset(archive_write_new());
    if (!w->a_) return base::resource_exhausted("dump: cannot create an archive writer");
    archive* a = w->a_.get();
    int r = format == ArchiveFormat::kTar ? archive_write_set_format_pax_restricted(a)
                                           : archive_write_set_format_zip(a);
    // Without a UTF-8 locale, store names as the raw bytes they are rather than fail.
    if (r == ARCHIVE_OK && !utf8 && format == ArchiveFormat::kTar) {
      r = archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY");
    }
    if (r == ARCHIVE_OK) r = archive_write_set_bytes_per_block(a, 1 << 20);
    // No padding after the end-of-archive blocks (as Go's archive/tar writes it).
    if (r == ARCHIVE_OK) r = archive_write_set_bytes_in_last_block(a, 1);
    if (r == ARCHIVE_OK) r = archive_write_open(a, w.get(), nullptr, &ArchiveWriter::write_cb, nullptr);
    if (r != ARCHIVE_OK) return w->error("open archive");
    return w;
  }

  base::Status header(const std::string& name, const Node& n, uint64_t size) {
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    if (!e) return base::resource_exhausted("dump: cannot create an archive entry");
    archive_entry* en = e.get();
    archive_entry_copy_pathname(en, name.c_str());
    switch (n.type) {
      case NodeType::kDir: archive_entry_set_filetype(en, AE_IFDIR); break;
      case NodeType::kSymlink:
        archive_entry_set_filetype(en, AE_IFLNK);
        archive_entry_copy_symlink(en, n.linktarget.c_str());
        break;
      default:
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_size(en, static_cast<la_int64_t>(size));
        break;
    }
    archive_entry_set_perm(en, repo::st_mode_perm_from_go_mode(n.mode));
    archive_entry_set_uid(en, n.uid);
    archive_entry_set_gid(en, n.gid);
    if (!n.user.empty()) archive_entry_copy_uname(en, n.user.c_str());
    if (!n.group.empty()) archive_entry_copy_gname(en, n.group.c_str());
    // Whole seconds, rounded as Go's archive/tar does when no format is forced.
    archive_entry_set_mtime(en, n.mtime.sec + (n.mtime.nsec >= 500000000 ? 1 : 0), 0);
    for (const auto& x : n.xattrs) {
      if (x.name == "system.posix_acl_access") {
        add_acl(en, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, x.value);
      } else if (x.name == "system.posix_acl_default") {
        add_acl(en, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, x.value);
      } else {
        archive_entry_xattr_add_entry(en, x.name.c_str(), x.value.data(), x.value.size());
      }
    }
    if (archive_write_header(a_.get(), en) < ARCHIVE_WARN) return error("write header of " + name);
    return base::ok_status();
  }

  base::Status data(base::ByteSpan d) {
    while (!d.empty()) {
      la_ssize_t n = archive_write_data(a_.get(), d.data(), d.size());
      if (n <= 0) return error("write data");
      d = d.subspan(static_cast<size_t>(n));
    }
    return base::ok_status();
  }

  base::Status finish_entry() {
    if (archive_write_finish_entry(a_.get()) < ARCHIVE_WARN) return error("finish entry");
    return base::ok_status();
  }

  base::Status close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return error("close archive");
    closed_ = true;
    return base::ok_status();
  }

  ~ArchiveWriter() {
    // After a failure, no end-of-archive marker (nor zero padding for the missing part of a
    // file): a broken dump must not look like a complete archive. The closing that freeing
    // does still runs (archive_write_fail would skip it and leak libarchive's buffers), but
    // writes nothing.
    if (!closed_) discard_ = true;
  }

 private:

  static la_ssize_t write_cb(archive* a, void* client, const void* buf, size_t n) {
    auto* self = static_cast<ArchiveWriter*>(client);
    if (self->discard_) {
      archive_set_error(a, EIO, "dump abandoned");
      return -1;
    }
    base::Status st = self->sink_.write(base::ByteSpan(static_cast<const uint8_t*>(buf), n));
    if (!st.ok()) {
      self->sink_error_ = st;
      archive_set_error(a, EIO, "%s", st.message().c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }

  // Linux's system.posix_acl_* value: version 2, then (tag u16, perm u16, id u32) entries.
  static void add_acl(archive_entry* e, int type, const base::Bytes& v) {
    if (v.size() < 4 || base::load_le32(v.data()) != 2) return;
    for (size_t i = 4; i + 8 <= v.size(); i += 8) {
      uint16_t tag = uint16_t(v[i] | v[i + 1] << 8);
      uint16_t perm = uint16_t(v[i + 2] | v[i + 3] << 8);
      uint32_t id = base::load_le32(v.data() + i + 4);
      int t;
      switch (tag) {
        case 0x01: t = ARCHIVE_ENTRY_ACL_USER_OBJ; break;
        case 0x02: t = ARCHIVE_ENTRY_ACL_USER; break;
        case 0x04: t = ARCHIVE_ENTRY_ACL_GROUP_OBJ; break;
        case 0x08: t = ARCHIVE_ENTRY_ACL_GROUP; break;
        case 0x10: t = ARCHIVE_ENTRY_ACL_MASK; break;
        case 0x20: t = ARCHIVE_ENTRY_ACL_OTHER; break;
        default: continue;
      }
      archive_entry_acl_add_entry(e, type, perm & 7, t, static_cast<int>(id), nullptr);
    }
  }

  base::Status error(const std::string& what) {
    if (!sink_error_.ok()) return sink_error_;
    const char* msg = archive_error_string(a_.get());
    return base::internal_error("dump: " + what + ": " + (msg ? msg : "archive error"));
  }

  ByteSink& sink_;
  base::Status sink_error_;
  bool closed_ = false;
  bool discard_ = false;
  std::unique_ptr<archive, ArchiveFree> a_;  // last: freed first, while the flags above exist
};

// ---- the writer loop ----

struct Entry {
  std::string name;  // in the archive
  std::string path;  // in the snapshot, for messages
  Node node;
};

// Entries are queued as the tree walk finds them; their blobs are pushed into the pipeline as
// far ahead as it takes them, and the oldest entry is written whenever the pipeline is full.
class Streamer {
 public:
  Streamer(repo::Repository& repo, const DumpOptions& opts, ByteSink& sink, ArchiveWriter* archive)
      : repo_(repo), pipeline_(repo, io_threads(repo, opts.threads), opts.max_ahead_bytes),
        sink_(sink), archive_(archive) {}

  base::Status add(Entry e) {
    pending_.push_back(std::move(e));
    feed();
    while (!pending_.empty() && (pending_.size() > kMaxPending || !pipeline_.wants_more())) {
      RETURN_IF_ERROR(write_front());
    }
    return base::ok_status();
  }

  base::Status drain() {
    while (!pending_.empty()) RETURN_IF_ERROR(write_front());
    return base::ok_status();
  }

 private:
  static constexpr size_t kMaxPending = 4096;

  void feed() {
    while (feed_entry_ < pending_.size() && pipeline_.wants_more()) {
      const Node& n = pending_[feed_entry_].node;
      if (n.type != NodeType::kFile || feed_blob_ >= n.content.size()) {
        ++feed_entry_;
        feed_blob_ = 0;
        continue;
      }
      pipeline_.push(n.content[feed_blob_++]);
    }
  }

  // The bytes the content really holds. The header must announce exactly what follows, and a
  // recorded size can disagree with the stored content (a file that changed while it was read);
  // the archive then carries what was stored. A blob missing from the index fails later, when
  // it is loaded, with its own error.
  uint64_t content_size(const Entry& e) {
    uint64_t total = 0;
    bool known = repo_.with_index([&](const repo::Index& idx) {
      for (const Id& id : e.node.content) {
        const repo::IndexEntry* ie = idx.find(id, repo::BlobType::kData);
        if (!ie) return false;
        total += ie->blob().plain_length();
      }
      return true;
    });
    return known ? total : e.node.size;
  }

  base::Status write_front() {
    Entry& e = pending_.front();
    bool is_file = e.node.type == NodeType::kFile;
    if (archive_) RETURN_IF_ERROR(archive_->header(e.name, e.node, is_file ? content_size(e) : 0));
    if (is_file) {
      for (size_t k = 0; k < e.node.content.size(); ++k) {
        if (feed_entry_ == 0 && feed_blob_ <= k) {
          pipeline_.push(e.node.content[k]);
          feed_blob_ = k + 1;
        }
        auto blob = pipeline_.next();
        if (!blob.ok()) return blob.status().with_context("dump " + e.path);
        feed();
        base::ByteSpan data(**blob);
        RETURN_IF_ERROR(archive_ ? archive_->data(data) : sink_.write(data));
      }
    }
    if (archive_) RETURN_IF_ERROR(archive_->finish_entry());
    pending_.pop_front();
    if (feed_entry_ > 0) {
      --feed_entry_;
    } else {
      feed_blob_ = 0;
    }
    feed();
    return base::ok_status();
  }

  repo::Repository& repo_;
  BlobPipeline pipeline_;
  ByteSink& sink_;
  ArchiveWriter* archive_;
  std::deque<Entry> pending_;
  size_t feed_entry_ = 0;  // pending_ index of the next entry whose blobs go into the pipeline
  size_t feed_blob_ = 0;   // and the next blob of it
};

std::string_view type_name(NodeType t) { return repo::node_type_name(t); }

}  // namespace

base::Status FdSink::write(base::ByteSpan data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::errno_status(errno, "write output");
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return base::ok_status();
}

base::StatusOr<ArchiveFormat> parse_archive_format(std::string_view name) {
  if (name == "tar") return ArchiveFormat::kTar;
  if (name == "zip") return ArchiveFormat::kZip;
  return base::invalid_argument("unknown archive format \"" + std::string(name) + "\"");
}

base::StatusOr<DumpTarget> resolve_dump_path(repo::Repository& repo, const Id& root,
                                             std::string_view path, DumpPathError* why) {
  DumpPathError unused;
  DumpPathError& err = why ? *why : unused;
  err = {};
  std::string clean = path.empty() ? std::string("/") : clean_path(std::string(path));
  std::vector<std::string> parts;
  for (size_t i = 0; i < clean.size();) {
    size_t j = clean.find('/', i);
    if (j == std::string::npos) j = clean.size();
    if (j > i) parts.push_back(clean.substr(i, j - i));
    i = j + 1;
  }
  DumpTarget t;
  if (parts.empty()) {
    t.archive = true;
    t.path = "/";
    t.tree = root;
    return t;
  }
  Id tree = root;
  std::string item;
  for (size_t i = 0; i < parts.size(); ++i) {
    ASSIGN_OR_RETURN(auto nodes, load_tree(repo, tree));
    item += "/" + parts[i];
    bool last = i + 1 == parts.size();
    auto it = std::find_if(nodes.begin(), nodes.end(), [&](const Node& n) { return n.name == parts[i]; });
    if (it == nodes.end()) {
      err = {DumpPathError::kNotFound, item, ""};
      return base::not_found("path \"" + item + "\" not found in snapshot");
    }
    bool is_dir = it->type == NodeType::kDir;
    if (is_dir && !it->subtree) return base::data_loss("dir " + item + " has no subtree");
    if (last && it->type == NodeType::kFile) {
      t.path = item;
      t.node = std::move(*it);
      return t;
    }
    if (is_dir) {
      tree = *it->subtree;
      if (last) {
        t.archive = true;
        t.path = item;
        t.tree = tree;
        t.node = std::move(*it);
        return t;
      }
      continue;
    }
    std::string type(type_name(it->type));
    if (!last) {
      err = {DumpPathError::kNotADir, item, type};
      return base::invalid_argument("\"" + item + "\" should be a dir, but is a \"" + type + "\"");
    }
    err = {DumpPathError::kNotAFile, item, type};
    return base::invalid_argument("\"" + item + "\" should be a file, but is a \"" + type + "\"");
  }
  return base::internal_error("dump: unreachable");
}

base::Status dump(repo::Repository& repo, const DumpTarget& target, ByteSink& out,
                  const DumpOptions& opts) {
  if (!target.archive) {
    Streamer s(repo, opts, out, nullptr);
    RETURN_IF_ERROR(s.add({"", target.path, target.node}));
    return s.drain();
  }
  Utf8Ctype utf8;
  ASSIGN_OR_RETURN(auto archive, ArchiveWriter::open(opts.format, out, utf8.active()));
  std::string base = target.path == "/" ? "" : target.path.substr(1) + "/";
  std::string snap_base = target.path == "/" ? "" : target.path;
  {
    Streamer s(repo, opts, out, archive.get());
    WalkCallbacks cb;
    cb.visit = [&](const WalkItem& it) -> base::StatusOr<Visit> {
      NodeType t = it.node.type;
      if (t != NodeType::kFile && t != NodeType::kDir && t != NodeType::kSymlink) return Visit::kDescend;
      std::string name = base + it.path.substr(1);
      if (t == NodeType::kDir) name += "/";
      RETURN_IF_ERROR(s.add({std::move(name), snap_base + it.path, it.node}));
      return Visit::kDescend;
    };
    RETURN_IF_ERROR(walk_tree_ahead(repo, target.tree, cb, opts.threads));
    RETURN_IF_ERROR(s.drain());
  }
  return archive->close();
}

}  // namespace kura::ops
