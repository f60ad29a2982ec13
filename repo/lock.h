// Repository locks (RESTIC_FORMAT.md §9): every operation takes one; non-exclusive locks
// (backup, restore) coexist, an exclusive one (prune, forget, check) excludes all others.
// A held lock is refreshed every 5 minutes by writing a new lock file and deleting the old.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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

// Two processes may lock at the same moment, each seeing no other lock; so, as restic does,
// the holder looks again kLockRecheckDelay after writing its lock file. An exclusive lock
// waits for that second look inside acquire(), unless its holder only reads (check) and
// calls confirm() before it reports: nothing can be deleted meanwhile, since a deleter waits
// for its own second look, which sees this lock. A non-exclusive one (backup, restore, ...)
// returns at once and the second look runs in the background: the work starts 200 ms
// earlier, and the repository's commit gate makes every index or snapshot write wait for
// confirm() first, so a backup that lost the race stores nothing a concurrent prune could miss.
// Readers that lost it fail on the first pack the exclusive holder removed (every blob read
// is verified), never with wrong data.
constexpr std::chrono::milliseconds kLockRecheckDelay{200};

// When a held lock is refreshed, and when it counts as lost.
struct LockTiming {
  std::chrono::milliseconds refresh{std::chrono::seconds(kLockRefreshSeconds)};
  std::chrono::milliseconds retry{std::chrono::seconds(30)};  // after a failed refresh
  // Others may take a lock for stale once it is kStaleLockSeconds old, so a lock that could
  // not be refreshed for this long is given up well before (restic: 1.5 refresh intervals).
  std::chrono::milliseconds lost_after{std::chrono::seconds(kStaleLockSeconds - kLockRefreshSeconds * 3 / 2)};
};

class RepoLock {
 public:
  ~RepoLock();  // releases (deletes the lock file)
  // Also sets the repository's commit gate to held(): no index or snapshot is written, and
  // prune deletes nothing, once the lock is not ours for sure.
  static base::StatusOr<std::unique_ptr<RepoLock>> acquire(Repository& repo, bool exclusive,
                                                           const LockOwner& owner,
                                                           const LockTiming& timing = {},
                                                           bool confirm_later = false);
  // Waits for the second look; failed_precondition naming the other lock if it found one
  // (this lock's file is then already removed). OK if released before the second look.
  base::Status confirm();
  // OK while the lock is surely ours: confirmed, its file still stored (checked now), and
  // refreshed within timing.lost_after. Otherwise failed_precondition ("repository lock
  // lost: ...") from then on: another process may have removed it (kura unlock
  // --remove-all) or may take it for stale, and a prune there could remove packs this
  // process is about to reference.
  base::Status held();
  base::Status release();
  const Id& id() const { return id_; }
  // Called by the destructor when its release fails (the lock file stays behind, and
  // `unlock` must remove it later): the command tells its user, as a library cannot.
  void on_release_failure(std::function<void(const Id&, const base::Status&)> fn) {
    on_release_failure_ = std::move(fn);
  }

 private:
  RepoLock(Repository& repo, Lock lock, bool exclusive, const LockTiming& timing)
      : repo_(repo), lock_(std::move(lock)), exclusive_(exclusive), timing_(timing) {}
  // One refresh: a new lock file replaces the old one (unless the old one is gone: lost).
  void refresh(std::unique_lock<std::mutex>& l);
  void background_loop();
  // Lists the other locks; failed_precondition describing the first that conflicts.
  base::Status check_others(const std::optional<Id>& mine) const;

  Repository& repo_;
  Lock lock_;
  bool exclusive_;
  LockTiming timing_;
  // Held across a refresh (new file written, old one removed) and across held()'s check of
  // the file, so held() never looks for a file the refresh just replaced. Taken before mu_.
  std::mutex refresh_mu_;
  Id id_;  // guarded by mu_ once the background thread runs
  std::chrono::steady_clock::time_point refreshed_;  // guarded by mu_: last file written
  bool refresh_failing_ = false;                     // guarded by mu_
  base::Status refresh_error_;                       // guarded by mu_: the last failure
  base::Status lost_;                                // guarded by mu_: once set, for good
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool confirmed_ = false;
  base::Status confirmation_;
  bool gate_set_ = false;
  std::thread background_;
  std::function<void(const Id&, const base::Status&)> on_release_failure_;
};

bool lock_is_stale(const Lock& lock, int64_t now_sec, const std::string& this_host);

// Removes stale locks (or all locks with `all`); returns how many were removed.
base::StatusOr<int> remove_locks(Repository& repo, bool all, const std::string& this_host);

}  // namespace kura::repo
