// Repository locks (RESTIC_FORMAT.md §9): every operation takes one; non-exclusive locks
// (backup, restore) coexist, an exclusive one (prune, forget, check) excludes all others.
// A held lock is refreshed every 5 minutes by writing a new lock file and deleting the old.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "repo/lock_json.h"
#include "repo/repository.h"

namespace kura::repo {

struct LockOwner {
  std::string hostname, username;
  uint32_t uid = 0, gid = 0;
  int64_t pid = 0;
};

// Locks older than this, or from a dead process on this host, are stale: they still block
// until `unlock` removes them (as restic does).
constexpr int64_t kStaleLockSeconds = 30 * 60;
constexpr int64_t kLockRefreshSeconds = 5 * 60;

class RepoLock {
 public:
  ~RepoLock();  // releases (deletes the lock file)
  static base::StatusOr<std::unique_ptr<RepoLock>> acquire(Repository& repo, bool exclusive,
                                                           const LockOwner& owner);
  base::Status release();
  const Id& id() const { return id_; }

 private:
  RepoLock(Repository& repo, Lock lock) : repo_(repo), lock_(std::move(lock)) {}
  void refresh_loop();

  Repository& repo_;
  Lock lock_;
  Id id_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread refresher_;
};

bool lock_is_stale(const Lock& lock, int64_t now_sec, const std::string& this_host);

// Removes stale locks (or all locks with `all`); returns how many were removed.
base::StatusOr<int> remove_locks(Repository& repo, bool all, const std::string& this_host);

}  // namespace kura::repo
