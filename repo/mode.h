// restic stores Go's os.FileMode, not st_mode (RESTIC_FORMAT.md §7.4). Conversions both ways.
#pragma once

#include <sys/stat.h>

#include <cstdint>

namespace kura::repo {

inline constexpr uint32_t kGoModeDir = 1u << 31;
inline constexpr uint32_t kGoModeSymlink = 1u << 27;
inline constexpr uint32_t kGoModeDevice = 1u << 26;
inline constexpr uint32_t kGoModeNamedPipe = 1u << 25;
inline constexpr uint32_t kGoModeSocket = 1u << 24;
inline constexpr uint32_t kGoModeSetuid = 1u << 23;
inline constexpr uint32_t kGoModeSetgid = 1u << 22;
inline constexpr uint32_t kGoModeCharDevice = 1u << 21;
inline constexpr uint32_t kGoModeSticky = 1u << 20;
inline constexpr uint32_t kGoModeIrregular = 1u << 19;
inline constexpr uint32_t kGoModePerm = 0777;

// What restic 0.14 records for an lstat() st_mode: permission bits, the Go type bit(s) and the
// setuid/setgid/sticky bits (restic masks everything else off).
constexpr uint32_t go_mode_from_st_mode(uint32_t st_mode) {
  uint32_t m = st_mode & 0777;
  switch (st_mode & S_IFMT) {
    case S_IFDIR: m |= kGoModeDir; break;
    case S_IFLNK: m |= kGoModeSymlink; break;
    case S_IFBLK: m |= kGoModeDevice; break;
    case S_IFCHR: m |= kGoModeDevice | kGoModeCharDevice; break;
    case S_IFIFO: m |= kGoModeNamedPipe; break;
    case S_IFSOCK: m |= kGoModeSocket; break;
    default: break;  // regular files (and anything unknown) get no type bit
  }
  if (st_mode & S_ISUID) m |= kGoModeSetuid;
  if (st_mode & S_ISGID) m |= kGoModeSetgid;
  if (st_mode & S_ISVTX) m |= kGoModeSticky;
  return m;
}

// The chmod() argument for a Go mode: permission bits plus setuid/setgid/sticky, no type bits.
constexpr uint32_t st_mode_perm_from_go_mode(uint32_t go_mode) {
  uint32_t m = go_mode & 0777;
  if (go_mode & kGoModeSetuid) m |= S_ISUID;
  if (go_mode & kGoModeSetgid) m |= S_ISGID;
  if (go_mode & kGoModeSticky) m |= S_ISVTX;
  return m;
}

}  // namespace kura::repo
