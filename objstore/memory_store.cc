// The memory store: tests and the server's in-memory mode. Objects are immutable byte vectors
// shared with readers, so a read copies only its range and never holds the lock while copying.
#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "objstore/object_store.h"

namespace kura::objstore {
namespace {

using backend::FileKind;
using backend::Handle;
using Blob = std::shared_ptr<const base::Bytes>;
using Key = std::pair<FileKind, std::string>;

struct Repo {
  std::map<Key, Blob> objects;
};

// Shared with the writers, which may outlive the store.
struct State {
  std::shared_mutex mu;
  std::map<std::string, Repo> repos;  // by to_string(RepoRef): neither name holds a '/'
};

base::Status no_repo(std::string_view op, const RepoRef& repo) {
  return base::not_found(std::string(op) + " repository " + to_string(repo) +
                         ": it does not exist");
}

class MemoryWriter : public ObjectWriter {
 public:
  MemoryWriter(std::shared_ptr<State> state, RepoRef repo, Handle h)
      : state_(std::move(state)), repo_(std::move(repo)), h_(std::move(h)) {}

  base::Status append(base::ByteSpan data) override {
    if (done_) return finished("append");
    data_.insert(data_.end(), data.begin(), data.end());
    return base::ok_status();
  }

  uint64_t size() const override { return data_.size(); }

  base::Status commit(bool* existed) override {
    if (done_) return finished("commit");
    done_ = true;
    *existed = false;
    auto blob = std::make_shared<const base::Bytes>(std::move(data_));
    std::unique_lock lock(state_->mu);
    auto repo = state_->repos.find(to_string(repo_));
    if (repo == state_->repos.end()) return no_repo("commit to", repo_);
    auto [it, inserted] = repo->second.objects.emplace(Key(h_.kind, h_.name), blob);
    if (inserted) return base::ok_status();
    if (*it->second != *blob) {
      return base::already_exists("commit " + object_path(repo_, h_) +
                                  ": an object of this name exists with different content");
    }
    *existed = true;
    return base::ok_status();
  }

 private:
  base::Status finished(std::string_view op) const {
    return base::failed_precondition(std::string(op) + " " + object_path(repo_, h_) +
                                     ": upload already finished");
  }

  std::shared_ptr<State> state_;
  RepoRef repo_;
  Handle h_;
  base::Bytes data_;
  bool done_ = false;
};

class MemoryStore : public ObjectStore {
 public:
  std::string location() const override { return "memory"; }

  base::Status create_repo(const RepoRef& repo) override {
    RETURN_IF_ERROR(check_repo(repo));
    std::unique_lock lock(state_->mu);
    state_->repos.try_emplace(to_string(repo));
    return base::ok_status();
  }

  base::StatusOr<bool> repo_exists(const RepoRef& repo) override {
    RETURN_IF_ERROR(check_repo(repo));
    std::shared_lock lock(state_->mu);
    return state_->repos.count(to_string(repo)) != 0;
  }

  base::StatusOr<uint64_t> stat(const RepoRef& repo, const Handle& h) override {
    ASSIGN_OR_RETURN(Blob blob, find(repo, h, "stat"));
    return uint64_t{blob->size()};
  }

  base::Status read(const RepoRef& repo, const Handle& h, uint64_t offset,
                    base::MutableByteSpan out) override {
    ASSIGN_OR_RETURN(Blob blob, find(repo, h, "read"));
    if (offset > blob->size() || out.size() > blob->size() - offset) {
      return base::data_loss("read " + object_path(repo, h) + ": object has " +
                             std::to_string(blob->size()) + " bytes, cannot read " +
                             std::to_string(out.size()) + " bytes at offset " +
                             std::to_string(offset));
    }
    std::copy_n(blob->begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
    return base::ok_status();
  }

  base::StatusOr<std::unique_ptr<ObjectWriter>> begin_write(const RepoRef& repo,
                                                            const Handle& h) override {
    RETURN_IF_ERROR(check_repo(repo));
    RETURN_IF_ERROR(backend::check_handle(h).with_context(to_string(repo)));
    ASSIGN_OR_RETURN(bool exists, repo_exists(repo));
    if (!exists) return no_repo("write to", repo);
    return std::unique_ptr<ObjectWriter>(std::make_unique<MemoryWriter>(state_, repo, h));
  }

  base::Status remove(const RepoRef& repo, const Handle& h) override {
    RETURN_IF_ERROR(check_repo(repo));
    RETURN_IF_ERROR(backend::check_handle(h).with_context(to_string(repo)));
    Blob gone;  // freed after the lock is released
    std::unique_lock lock(state_->mu);
    auto r = state_->repos.find(to_string(repo));
    if (r == state_->repos.end()) return base::ok_status();
    auto it = r->second.objects.find(Key(h.kind, h.name));
    if (it == r->second.objects.end()) return base::ok_status();
    gone = std::move(it->second);
    r->second.objects.erase(it);
    return base::ok_status();
  }

  base::Status list(const RepoRef& repo, FileKind kind,
                    const std::function<base::Status(const backend::FileEntry&)>& fn) override {
    RETURN_IF_ERROR(check_repo(repo));
    if (kind == FileKind::kConfig) return base::invalid_argument("list: config is not a folder");
    // A copy of the entries, so that fn may call back into the store (e.g. remove what it sees).
    std::vector<backend::FileEntry> entries;
    {
      std::shared_lock lock(state_->mu);
      auto r = state_->repos.find(to_string(repo));
      if (r == state_->repos.end()) return no_repo("list", repo);
      const auto& objects = r->second.objects;
      for (auto it = objects.lower_bound(Key(kind, ""));
           it != objects.end() && it->first.first == kind; ++it) {
        entries.push_back(backend::FileEntry{it->first.second, it->second->size()});
      }
    }
    for (const backend::FileEntry& e : entries) RETURN_IF_ERROR(fn(e));
    return base::ok_status();
  }

  base::Status usage(const RepoRef& repo, uint64_t* bytes, uint64_t* objects) override {
    RETURN_IF_ERROR(check_repo(repo));
    std::shared_lock lock(state_->mu);
    auto r = state_->repos.find(to_string(repo));
    if (r == state_->repos.end()) return no_repo("usage of", repo);
    *bytes = 0;
    *objects = r->second.objects.size();
    for (const auto& [key, blob] : r->second.objects) *bytes += blob->size();
    return base::ok_status();
  }

  // Uploads live in their writers until commit: a crash leaves nothing behind.
  base::StatusOr<uint64_t> sweep_temp_files(const RepoRef& repo, int64_t max_age_sec) override {
    (void)max_age_sec;
    ASSIGN_OR_RETURN(bool exists, repo_exists(repo));
    if (!exists) return no_repo("sweep", repo);
    return uint64_t{0};
  }

 private:
  base::StatusOr<Blob> find(const RepoRef& repo, const Handle& h, std::string_view op) {
    RETURN_IF_ERROR(check_repo(repo));
    RETURN_IF_ERROR(backend::check_handle(h).with_context(to_string(repo)));
    std::shared_lock lock(state_->mu);
    auto r = state_->repos.find(to_string(repo));
    if (r != state_->repos.end()) {
      auto it = r->second.objects.find(Key(h.kind, h.name));
      if (it != r->second.objects.end()) return it->second;
    }
    return base::not_found(std::string(op) + " " + object_path(repo, h) + ": no such object");
  }

  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace

std::unique_ptr<ObjectStore> memory_store() { return std::make_unique<MemoryStore>(); }

}  // namespace kura::objstore
