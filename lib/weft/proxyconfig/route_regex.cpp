#include "weft/proxyconfig/route_regex.h"

#include <re2/re2.h>

namespace weft::proxyconfig {

Result<RouteRegex> RouteRegex::compile(std::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);  // the error is returned, not printed to stderr
  auto regex =
      std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!regex->ok()) {
    return Error{"regular expression '" + std::string(pattern) +
                 "' is not valid RE2: " + regex->error()};
  }
  return RouteRegex(std::move(regex));
}

bool RouteRegex::full_match(std::string_view text) const {
  return re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *regex_);
}

}  // namespace weft::proxyconfig
