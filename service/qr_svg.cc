#include "service/qr_svg.h"

#include <qrencode.h>

#include <cerrno>
#include <memory>

namespace kura::service {
namespace {

constexpr int kQuietZone = 4;       // modules of light border the QR standard asks for
constexpr size_t kMaxBytes = 2331;  // version 40, level M, 8-bit mode

struct QRcodeFree {
  void operator()(QRcode* q) const { QRcode_free(q); }
};
using QRcodePtr = std::unique_ptr<QRcode, QRcodeFree>;

// Each horizontal run of dark modules becomes one rectangle: far shorter than a square per
// module, and still a single path.
std::string dark_modules_path(const QRcode& q) {
  std::string d;
  for (int y = 0; y < q.width; ++y) {
    const unsigned char* row = q.data + static_cast<size_t>(y) * q.width;
    for (int x = 0; x < q.width;) {
      if (!(row[x] & 1)) {
        ++x;
        continue;
      }
      int start = x;
      while (x < q.width && (row[x] & 1)) ++x;
      int len = x - start;
      d += "M" + std::to_string(start + kQuietZone) + " " + std::to_string(y + kQuietZone) + "h" +
           std::to_string(len) + "v1h-" + std::to_string(len) + "z";
    }
  }
  return d;
}

}  // namespace

base::StatusOr<std::string> qr_svg(std::string_view text, int module_px) {
  if (module_px < 1 || module_px > 64) {
    return base::invalid_argument("QR code: module size " + std::to_string(module_px) +
                                  " px is outside 1..64");
  }
  if (text.empty()) return base::invalid_argument("QR code: nothing to encode");
  if (text.size() > kMaxBytes) {
    return base::invalid_argument("QR code: " + std::to_string(text.size()) +
                                  " bytes do not fit in one symbol (at most " +
                                  std::to_string(kMaxBytes) + ")");
  }
  errno = 0;
  QRcodePtr q(QRcode_encodeData(static_cast<int>(text.size()),
                                reinterpret_cast<const unsigned char*>(text.data()), 0,
                                QR_ECLEVEL_M));
  if (!q) {
    return base::internal_error("QR code: libqrencode failed to encode " +
                                std::to_string(text.size()) + " bytes (errno " +
                                std::to_string(errno) + ")");
  }
  std::string n = std::to_string(q->width + 2 * kQuietZone);
  std::string px = std::to_string((q->width + 2 * kQuietZone) * module_px);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + n + " " + n + "\" width=\"" +
         px + "\" height=\"" + px + "\" shape-rendering=\"crispEdges\">" + "<rect width=\"" + n +
         "\" height=\"" + n + "\" fill=\"#fff\"/>" + "<path d=\"" + dark_modules_path(*q) +
         "\" fill=\"#000\"/></svg>\n";
}

}  // namespace kura::service
