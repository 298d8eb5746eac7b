#pragma once

// The pure core of `weftctl inject` and `weftctl uninject`: streams of
// manifests in, the same streams out with their pod templates changed, and a
// note per object for stderr. No I/O: the command reads the files and the
// injector configuration, this decides what to write.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/result.h"
#include "weftctl/inject/pod_template_injection.h"
#include "weftctl/inject/yaml_json.h"

namespace weft::ctl::inject {

// A file (or stdin) as read.
struct ManifestInput {
  std::string name;  // for messages: the path, or "stdin"
  std::string text;
};

// What to do to one pod template of an object in a namespace.
using TemplateTransform =
    std::function<Result<TemplateOutcome>(const Json& pod, std::string_view namespace_name)>;

struct StreamOptions {
  // Objects without metadata.namespace are taken to be in this one (the
  // webhook's decision depends on it: kube-system and weft-system never get
  // the proxy).
  std::string default_namespace = "default";
  ReadLimits limits{};  // per document, aliases expanded
};

struct StreamOutput {
  std::string text;                // the streams, joined
  std::vector<std::string> notes;  // one per object, for stderr
};

// Every input, document by document: a document whose templates do not change
// is copied byte for byte; a changed one is written anew (yaml_json.h says
// what that keeps). The first error (a document that does not parse, a pod
// the webhook would refuse) stops the run: it names the input, the document
// (1-based, counting those with content) and the line, and nothing is
// returned, so that no half stream is ever written.
Result<StreamOutput> transform_manifests(const std::vector<ManifestInput>& inputs,
                                         const TemplateTransform& transform,
                                         const StreamOptions& options);

}  // namespace weft::ctl::inject
