#include "webhook/review_json.h"

#include <algorithm>
#include <string>
#include <vector>

namespace weft::webhook {
namespace {

using nlohmann::json;

// Where a value sits in the review, as far as the webhook cares. kDrop: not read
// (neither the value nor anything in it is stored); kWhole: stored whole.
enum class Node {
  kDrop,
  kWhole,
  kReview,
  kRequest,
  kRequestKind,
  kPod,
  kMetadata,
  kSpec,
  kContainers,  // spec.containers, initContainers and ephemeralContainers
  kContainer,
  kPorts,
  kPort,
  kVolumes,
};

// The node of member `key` of an object at `parent`.
Node member_node(Node parent, std::string_view key) {
  switch (parent) {
    case Node::kWhole:
      return Node::kWhole;
    case Node::kReview:
      if (key == "request") return Node::kRequest;
      return key == "apiVersion" || key == "kind" ? Node::kWhole : Node::kDrop;
    case Node::kRequest:
      if (key == "object") return Node::kPod;
      if (key == "kind") return Node::kRequestKind;
      return key == "uid" || key == "operation" || key == "namespace" || key == "name" ||
                     key == "subResource" || key == "dryRun"
                 ? Node::kWhole
                 : Node::kDrop;
    case Node::kRequestKind:
      return key == "group" || key == "version" || key == "kind" ? Node::kWhole : Node::kDrop;
    case Node::kPod:
      if (key == "metadata") return Node::kMetadata;
      return key == "spec" ? Node::kSpec : Node::kDrop;
    case Node::kMetadata:
      return key == "annotations" ? Node::kWhole : Node::kDrop;
    case Node::kSpec:
      if (key == "containers" || key == "initContainers" || key == "ephemeralContainers") {
        return Node::kContainers;
      }
      if (key == "volumes") return Node::kVolumes;
      // securityContext: the pod's runAsUser, checked against the proxy's UID.
      return key == "hostNetwork" || key == "securityContext" ? Node::kWhole : Node::kDrop;
    case Node::kContainer:
      if (key == "ports") return Node::kPorts;
      // What decides a container's traffic and identity: the UID check reads
      // securityContext; the injection seal covers all of these (pod.h).
      // The probes: their httpGet routes pass a Strict port (webhook/probes.h).
      // volumeMounts: weft-init's and weft-proxy's are compared with the injection's.
      return key == "name" || key == "securityContext" || key == "image" || key == "command" ||
                     key == "args" || key == "workingDir" || key == "env" || key == "envFrom" ||
                     key == "restartPolicy" || key == "lifecycle" || key == "livenessProbe" ||
                     key == "readinessProbe" || key == "startupProbe" || key == "volumeMounts"
                 ? Node::kWhole
                 : Node::kDrop;
    case Node::kPort:
      // name: a probe's named port.
      return key == "containerPort" || key == "name" ? Node::kWhole : Node::kDrop;
    default:
      return Node::kDrop;  // an object where a list was expected: its type is enough
  }
}

// The node of each element of an array at `parent`. Elements of a list the
// webhook reads are all kept (their index is in its messages); an array where an
// object was expected is kept empty, its type being all that matters.
Node element_node(Node parent) {
  switch (parent) {
    case Node::kWhole:
      return Node::kWhole;
    case Node::kContainers:
      return Node::kContainer;
    case Node::kPorts:
      return Node::kPort;
    case Node::kVolumes:
      // Whole: an injected pod's weft- volumes are compared with the injection's.
      return Node::kWhole;
    default:
      return Node::kDrop;
  }
}

// The SAX handler (nlohmann calls it per token; returning false stops the parse,
// and nothing throws). It builds the pruned document as it goes.
class PrunedBuilder {
 public:
  explicit PrunedBuilder(int max_depth) : max_depth_(max_depth) {}

  bool null() { return scalar(nullptr); }
  bool boolean(bool value) { return scalar(value); }
  bool number_integer(json::number_integer_t value) { return scalar(value); }
  bool number_unsigned(json::number_unsigned_t value) { return scalar(value); }
  bool number_float(json::number_float_t value, const json::string_t& /*text*/) {
    return scalar(value);
  }
  bool string(json::string_t& value) { return scalar(value); }
  bool binary(json::binary_t& /*value*/) { return false; }  // not in JSON text

  bool start_object(std::size_t /*elements*/) { return open(json::object()); }
  bool start_array(std::size_t /*elements*/) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& key) {
    Frame& frame = stack_.back();
    pending_ = frame.value == nullptr ? Node::kDrop : member_node(frame.node, key);
    if (pending_ == Node::kDrop) return true;
    if (frame.value->contains(key)) {
      // Read on, so that a body also invalid further on is refused for that.
      if (!repeated_) repeated_key_ = key;
      repeated_ = true;
      pending_ = Node::kDrop;
      return true;
    }
    pending_key_ = key;
    return true;
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const json::exception& error) {
    // "[json.exception.parse_error.101] parse error at line 1, column 9: ..."
    const std::string_view what = error.what();
    const auto prefix_end = what.find("] ");
    syntax_error_ = prefix_end == std::string_view::npos ? what : what.substr(prefix_end + 2);
    return false;
  }

  json& document() { return root_; }
  bool too_deep() const { return too_deep_; }
  bool too_many() const { return too_many_; }
  bool repeated() const { return repeated_; }
  const std::string& repeated_key() const { return repeated_key_; }
  const std::string& syntax_error() const { return syntax_error_; }

 private:
  struct Frame {
    Node node;
    json* value;  // null when dropped
  };

  // Where the next value goes, or null when it is dropped; its node in `node`.
  json* place(Node& node) {
    if (stack_.empty()) {
      node = Node::kReview;
      return &root_;
    }
    Frame& frame = stack_.back();
    if (frame.value == nullptr) return nullptr;
    if (frame.value->is_array()) {
      node = element_node(frame.node);
      if (node == Node::kDrop) return nullptr;
      frame.value->push_back(nullptr);
      return &frame.value->back();
    }
    node = pending_;
    if (node == Node::kDrop) return nullptr;
    return &(*frame.value)[pending_key_];
  }

  // Counts a value about to be kept; false past the limit. The kept document
  // costs about a hundred bytes per value whatever its text, so a body of small
  // values (`[{},{},...]` in an annotation) would cost 70 times its size.
  bool keep_one() {
    if (++kept_ <= kMaxKeptValues) return true;
    too_many_ = true;
    return false;
  }

  template <typename Value>
  bool scalar(Value&& value) {
    Node node;
    if (json* slot = place(node)) {
      if (!keep_one()) return false;
      *slot = std::forward<Value>(value);
    }
    return true;
  }

  bool open(json empty) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    Node node = Node::kDrop;
    json* slot = place(node);
    if (slot != nullptr) {
      if (!keep_one()) return false;
      *slot = std::move(empty);
    }
    stack_.push_back({node, slot});
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  int max_depth_;
  std::size_t kept_ = 0;
  bool too_many_ = false;
  json root_;
  std::vector<Frame> stack_;
  Node pending_ = Node::kDrop;  // of the member whose key was read last
  std::string pending_key_;
  bool too_deep_ = false;
  bool repeated_ = false;
  std::string repeated_key_;
  std::string syntax_error_;
};

// Nesting depth of a JSON text, counted without parsing (brackets outside
// strings): tells a body refused for its depth from one refused for its syntax.
int json_depth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

Result<json> parse_review_json(std::string_view body, int max_depth) {
  PrunedBuilder builder(max_depth);
  if (json::sax_parse(body, &builder)) {
    if (builder.repeated()) {
      return Error{"the key '" + builder.repeated_key() + "' is repeated in an object"};
    }
    return std::move(builder.document());
  }
  if (builder.too_many()) {
    return Error{"the review holds more than " + std::to_string(kMaxKeptValues) +
                 " values in the parts the webhook reads (annotations, containers, ports, "
                 "volumes)"};
  }
  // Depth first, as a body too deep is refused before its syntax is looked at.
  if (builder.too_deep() || json_depth(body) > max_depth) {
    return Error{"JSON nested deeper than " + std::to_string(max_depth) + " levels"};
  }
  return Error{"body is not valid JSON: " + builder.syntax_error()};
}

}  // namespace weft::webhook
