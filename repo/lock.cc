#include "repo/lock.h"

#include <signal.h>

#include <cerrno>
#include <chrono>

#include "repo/gojson.h"

namespace kura::repo {
namespace {

std::string describe(const Lock& l, const Id& id, int64_t now) {
  int64_t age = now - l.time.sec;
  std::string s = "repository is already locked ";
  s += l.exclusive ? "exclusively " : "";
  s += "by PID " + std::to_string(l.pid) + " on " + l.hostname + " by " + l.username + " (UID " +
       std::to_string(l.uid) + ", GID " + std::to_string(l.gid) + ")\nlock was created at " +
       format_go_time(l.time) + " (" + std::to_string(age / 60) + " minutes ago)\nstorage ID " +
       id.short_hex() + "\nIf no other kura or restic process is using it, remove stale locks with `kura unlock`.";
  return s;
}

base::Status removed_error(const Id& lock) {
  return base::failed_precondition("repository lock lost: its file " + lock.short_hex() +
                                   " was removed by another process (kura unlock --remove-all?)");
}

}  // namespace

bool lock_is_stale(const Lock& lock, int64_t now_sec, const std::string& this_host) {
  if (now_sec - lock.time.sec > kStaleLockSeconds) return true;
  if (lock.hostname != this_host || lock.pid <= 0) return false;
  return ::kill(static_cast<pid_t>(lock.pid), 0) != 0 && errno == ESRCH;
}

base::Status RepoLock::check_others(const std::optional<Id>& mine) const {
  ASSIGN_OR_RETURN(auto ids, repo_.list_ids(backend::FileKind::kLock));
  int64_t now = repo_.deps().clock->now().sec;
  for (const Id& id : ids) {
    if (mine && id == *mine) continue;
    auto json = repo_.load_unpacked(backend::FileKind::kLock, id);
    if (!json.ok()) continue;  // unreadable locks are ignored, as restic 0.14 does
    auto other = decode_lock(*json);
    if (!other.ok()) continue;
    if (exclusive_ || other->exclusive) return base::failed_precondition(describe(*other, id, now));
  }
  return base::ok_status();
}

base::StatusOr<std::unique_ptr<RepoLock>> RepoLock::acquire(Repository& repo, bool exclusive,
                                                            const LockOwner& owner,
                                                            const LockTiming& timing,
                                                            bool confirm_later) {
  base::Clock* clock = repo.deps().clock;
  Lock l;
  base::Timespec t = clock->now();
  l.time = {t.sec, t.nsec, clock->utc_offset(t.sec)};
  l.exclusive = exclusive;
  l.hostname = owner.hostname;
  l.username = owner.username;
  l.uid = owner.uid;
  l.gid = owner.gid;
  l.pid = owner.pid;
  std::unique_ptr<RepoLock> lock(new RepoLock(repo, l, exclusive, timing));
  RETURN_IF_ERROR(lock->check_others(std::nullopt));
  ASSIGN_OR_RETURN(lock->id_, repo.save_unpacked(backend::FileKind::kLock, encode_lock(l)));
  lock->refreshed_ = std::chrono::steady_clock::now();
  repo.set_commit_gate([p = lock.get()] { return p->held(); });
  lock->gate_set_ = true;
  lock->background_ = std::thread([p = lock.get()] { p->background_loop(); });
  if (exclusive && !confirm_later) RETURN_IF_ERROR(lock->confirm());
  return lock;
}

base::Status RepoLock::confirm() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return confirmed_ || stop_; });
  return confirmation_;
}

void RepoLock::background_loop() {
  std::unique_lock<std::mutex> l(mu_);
  // The second look: a real-time wait (not the repository clock) because it is about other
  // processes' writes becoming visible.
  if (cv_.wait_for(l, kLockRecheckDelay, [&] { return stop_; })) return;
  const Id mine = id_;
  l.unlock();
  base::Status st = check_others(mine);
  if (!st.ok() && st.code() != base::Code::kFailedPrecondition) {
    // Could not list or read the locks: we cannot tell, so we cannot go on either.
    st = st.with_context("checking for other locks");
  }
  if (!st.ok()) repo_.backend()->remove({backend::FileKind::kLock, mine.hex()}).ignore();
  l.lock();
  if (!st.ok()) id_ = Id{};
  confirmation_ = st;
  confirmed_ = true;
  cv_.notify_all();
  if (!st.ok()) return;
  while (!stop_ && lost_.ok()) {
    auto wait = refresh_failing_ ? timing_.retry : timing_.refresh;
    if (cv_.wait_for(l, wait, [&] { return stop_; })) break;
    refresh(l);
  }
}

void RepoLock::refresh(std::unique_lock<std::mutex>& l) {
  base::Timespec t = repo_.deps().clock->now();
  lock_.time = {t.sec, t.nsec, repo_.deps().clock->utc_offset(t.sec)};
  const Id old = id_;
  const std::string json(base::as_chars(encode_lock(lock_)));
  l.unlock();
  std::unique_lock<std::mutex> rl(refresh_mu_);
  const backend::Handle old_file{backend::FileKind::kLock, old.hex()};
  auto still = repo_.backend()->stat(old_file);
  if (still.status().code() == base::Code::kNotFound) {
    rl.unlock();
    l.lock();
    lost_ = removed_error(old);
    return;
  }
  auto fresh = repo_.save_unpacked(backend::FileKind::kLock, base::as_bytes(json));
  if (fresh.ok()) repo_.backend()->remove(old_file).ignore();
  l.lock();
  if (fresh.ok()) {
    id_ = *fresh;
    refreshed_ = std::chrono::steady_clock::now();
    refresh_failing_ = false;
  } else {
    refresh_failing_ = true;
    refresh_error_ = fresh.status();
  }
}

base::Status RepoLock::held() {
  RETURN_IF_ERROR(confirm());
  std::lock_guard<std::mutex> rl(refresh_mu_);
  Id mine;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!lost_.ok()) return lost_;
    auto since = std::chrono::steady_clock::now() - refreshed_;
    if (since > timing_.lost_after) {
      auto minutes = std::chrono::duration_cast<std::chrono::minutes>(since).count();
      lost_ = base::failed_precondition(
          "repository lock lost: it could not be refreshed for " + std::to_string(minutes) +
          " minutes (" + (refresh_error_.ok() ? std::string("no refresh ran") : refresh_error_.message()) +
          "); other processes may take it for stale");
      return lost_;
    }
    mine = id_;
  }
  if (mine.is_zero()) return base::failed_precondition("repository lock already released");
  auto st = repo_.backend()->stat({backend::FileKind::kLock, mine.hex()});
  if (st.status().code() == base::Code::kNotFound) {
    std::lock_guard<std::mutex> l(mu_);
    lost_ = removed_error(mine);
    return lost_;
  }
  return st.status().with_context("checking the repository lock");
}

base::Status RepoLock::release() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (background_.joinable()) background_.join();
  if (gate_set_) {
    repo_.set_commit_gate(nullptr);
    gate_set_ = false;
  }
  if (id_.is_zero()) return base::ok_status();
  base::Status st = repo_.backend()->remove({backend::FileKind::kLock, id_.hex()});
  id_ = Id{};
  return st;
}

RepoLock::~RepoLock() {
  Id id = id_;
  base::Status st = release();
  if (!st.ok() && on_release_failure_) on_release_failure_(id, st);
}

base::StatusOr<int> remove_locks(Repository& repo, bool all, const std::string& this_host) {
  ASSIGN_OR_RETURN(auto ids, repo.list_ids(backend::FileKind::kLock));
  int64_t now = repo.deps().clock->now().sec;
  int removed = 0;
  for (const Id& id : ids) {
    bool remove = all;
    if (!remove) {
      auto json = repo.load_unpacked(backend::FileKind::kLock, id);
      if (json.ok()) {
        auto l = decode_lock(*json);
        remove = l.ok() && lock_is_stale(*l, now, this_host);
      }
    }
    if (remove) {
      RETURN_IF_ERROR(repo.backend()->remove({backend::FileKind::kLock, id.hex()}));
      ++removed;
    }
  }
  return removed;
}

}  // namespace kura::repo
