// QR codes as standalone SVG, for the authenticator-app enrolment page (the otpauth:// URI).
// The image is served as its own resource or inlined; it needs no style element or attribute
// (the panel's CSP forbids inline styles), only the SVG presentation attribute `fill`.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace kura::service {

// `text` as one QR symbol (error correction level M, 8-bit mode, smallest version that fits,
// at most 2331 bytes) with the 4-module quiet zone, each module module_px (1..64) pixels wide:
// `<svg xmlns=... viewBox="0 0 N N" width=... height=...>` with a white background and the
// dark modules as one `<path>`, N = symbol width + 8.
base::StatusOr<std::string> qr_svg(std::string_view text, int module_px = 4);

}  // namespace kura::service
