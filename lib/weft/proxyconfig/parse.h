#pragma once

// Reading a proxy configuration document from JSON (the proxy does this for
// every ConfigMap change and refuses a bad document, keeping its last good one).
// Never throws. Errors name the field: "outbound.services[2].ports[0].port: must
// be an integer from 1 to 65535, got 70000".
//
// Fields this reader does not know are ignored (later operators may add
// optional fields); a document of another version is refused.

#include <optional>
#include <string>
#include <string_view>

#include "weft/proxyconfig/document.h"
#include "weft/result.h"

namespace weft::proxyconfig {

struct ParsedDocument {
  Document document;
  std::string hash;  // as carried by the document, verified
};

// Parses and validates. Fails on malformed JSON, a wrong type or value, a
// missing or mismatching "hash", or a version other than kDocumentVersion.
Result<ParsedDocument> parse(std::string_view text);

// The semantic checks parse() applies (ranges, references between fields,
// addresses, selector shapes), for documents built in code. nullopt: valid.
std::optional<Error> validate(const Document& document);

// The checks of the `identity` section alone (trust domain, the shape of the
// PEM bundle), for the operator to decide whether a trust bundle can go into
// documents at all. nullopt: valid. The error names the field
// ("identity.trustAnchorsPem: ...").
std::optional<Error> check_identity(const IdentityConfig& identity);

}  // namespace weft::proxyconfig
