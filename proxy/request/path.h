#pragma once

// The request path as routing (and, later, authorization) sees it: normalised
// once, so that two spellings of one resource cannot be told apart by a
// prefix or a regular expression. The rules, in order (docs/proxy.md):
//  - a percent-encoded unreserved character (RFC 3986 section 2.3: ALPHA,
//    DIGIT, '-', '.', '_', '~') is decoded; other escapes are kept, with
//    their hex digits upper-cased;
//  - an encoded '/' (%2F) or '\' (%5C), a raw '\', a '%' not followed by
//    two hex digits, a NUL or other control character (raw or encoded), a raw
//    '#', a double-encoded '/', '\' or NUL (%252F), a path parameter on a dot
//    segment ("/..;/") or invalid UTF-8 (raw or encoded, e.g. overlong
//    %C0%AF) refuses the request: servers disagree on what they mean;
//  - runs of '/' are merged into one;
//  - "." and ".." segments are removed (RFC 3986 section 5.2.4), ".." never
//    climbing above the root.
// Only origin-form paths (starting with '/') are normalised; a pure function.

#include <string>
#include <string_view>

namespace weft::proxy {

struct PathNormalization {
  enum class Verdict {
    kUnchanged,   // the path is already normal: use it as it is
    kNormalized,  // the normal form is in `out`
    kRefused,     // answer 400 with `reason`
  };
  Verdict verdict = Verdict::kUnchanged;
  std::string_view reason;
};

// Normalises `path` (without its query); `out` is written only for kNormalized.
PathNormalization normalize_path(std::string_view path, std::string& out);

}  // namespace weft::proxy
