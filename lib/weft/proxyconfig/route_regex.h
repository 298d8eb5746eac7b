#pragma once

// The regular expressions of MeshRoute matches, compiled with RE2: matching
// takes time linear in the input whatever the pattern (no backtracking), so a
// route cannot make the proxy's event loop spin on a crafted path or header.
// The operator validates with the same function the proxy compiles with, so
// a pattern the operator accepts is one the proxy accepts.

#include <memory>
#include <string>
#include <string_view>

#include "weft/result.h"

namespace re2 {
class RE2;
}

namespace weft::proxyconfig {

class RouteRegex {
 public:
  // RE2 syntax; the pattern must match the whole text (Gateway API
  // semantics). An error names the pattern and RE2's reason.
  static Result<RouteRegex> compile(std::string_view pattern);

  bool full_match(std::string_view text) const;

 private:
  explicit RouteRegex(std::shared_ptr<const re2::RE2> regex) : regex_(std::move(regex)) {}
  std::shared_ptr<const re2::RE2> regex_;  // shared: RE2 is thread-safe for matching
};

}  // namespace weft::proxyconfig
