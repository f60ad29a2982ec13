#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace kura::base {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kCancelled: return "cancelled";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kNotFound: return "not found";
    case Code::kAlreadyExists: return "already exists";
    case Code::kPermissionDenied: return "permission denied";
    case Code::kResourceExhausted: return "resource exhausted";
    case Code::kFailedPrecondition: return "failed precondition";
    case Code::kAborted: return "aborted";
    case Code::kOutOfRange: return "out of range";
    case Code::kUnimplemented: return "unimplemented";
    case Code::kInternal: return "internal error";
    case Code::kUnavailable: return "unavailable";
    case Code::kDataLoss: return "data loss";
    case Code::kUnauthenticated: return "unauthenticated";
  }
  return "unknown";
}

Status Status::with_context(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return message_;
}

#define KURA_STATUS_FACTORY(fn, code) \
  Status fn(std::string message) { return Status(Code::code, std::move(message)); }
KURA_STATUS_FACTORY(cancelled, kCancelled)
KURA_STATUS_FACTORY(invalid_argument, kInvalidArgument)
KURA_STATUS_FACTORY(not_found, kNotFound)
KURA_STATUS_FACTORY(already_exists, kAlreadyExists)
KURA_STATUS_FACTORY(permission_denied, kPermissionDenied)
KURA_STATUS_FACTORY(resource_exhausted, kResourceExhausted)
KURA_STATUS_FACTORY(failed_precondition, kFailedPrecondition)
KURA_STATUS_FACTORY(aborted, kAborted)
KURA_STATUS_FACTORY(out_of_range, kOutOfRange)
KURA_STATUS_FACTORY(unimplemented, kUnimplemented)
KURA_STATUS_FACTORY(internal_error, kInternal)
KURA_STATUS_FACTORY(unavailable, kUnavailable)
KURA_STATUS_FACTORY(data_loss, kDataLoss)
KURA_STATUS_FACTORY(unauthenticated, kUnauthenticated)
#undef KURA_STATUS_FACTORY

Status errno_status(int err, std::string_view what) {
  std::string m(what);
  m += ": ";
  m += std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR: return not_found(std::move(m));
    case EEXIST:
    case ENOTEMPTY: return already_exists(std::move(m));
    case EACCES:
    case EPERM:
    case EROFS: return permission_denied(std::move(m));
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM: return resource_exhausted(std::move(m));
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP: return invalid_argument(std::move(m));
    case EINTR:
    case EAGAIN: return unavailable(std::move(m));
    case EIO: return data_loss(std::move(m));
    case ENOTSUP: return unimplemented(std::move(m));
    default: return internal_error(std::move(m));
  }
}

}  // namespace kura::base
