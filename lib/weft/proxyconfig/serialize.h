#pragma once

// Canonical JSON for the proxy configuration document: same document, same
// bytes. Objects have sorted keys and no whitespace; set-like lists (services,
// ports, endpoints, retry codes and conditions) are sorted here, so their order
// in the input does not matter; precedence-ordered lists (matches, inbound
// policies) keep the order they were given in. Optional values that are unset
// are left out.
//
// The document carries its content hash: "hash" is "sha256:" + the hex SHA-256
// of the canonical text of the document without its "hash" key. A reader can
// recompute it from the JSON alone (parse.h does), even with fields it does not
// know, and the operator compares hashes to skip unchanged writes.

#include <nlohmann/json.hpp>
#include <string>

#include "weft/proxyconfig/document.h"

namespace weft::proxyconfig {

struct SerializedDocument {
  std::string text;  // the canonical JSON, hash included
  std::string hash;  // "sha256:<64 hex digits>"
};

SerializedDocument serialize(const Document& document);

// The canonical JSON value without "hash" (what the hash is computed over).
nlohmann::json to_json(const Document& document);

// "sha256:<hex>" of body.dump() (compact, sorted keys). body must not contain
// a "hash" key.
std::string content_hash(const nlohmann::json& body);

}  // namespace weft::proxyconfig
