// Codes people read aloud and type (enrollment codes, recovery codes, one-time passwords):
// Crockford base32, which has no I, L, O or U, so what is misread still decodes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kura::service {

inline constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// `chars` random Crockford characters (5 bits each) in groups of 4: "7KQ4-M2XJ-…". `plain`,
// if set, receives them without the dashes.
std::string random_grouped_code(size_t chars, std::string* plain = nullptr);

// What someone typed → uppercase without dashes or spaces, I/L read as 1 and O as 0; "" unless
// that is exactly `chars` Crockford characters.
std::string normalize_code(std::string_view typed, size_t chars);

}  // namespace kura::service
