#pragma once

// One pod template in, the same template injected, opted in, or cleared of
// the injection out. The decision and the patch are the webhook's own
// (webhook::Injector::mutate_pod, webhook::decide): `weftctl inject` gives a
// template exactly what the webhook gives a pod created from it.

#include <string>
#include <string_view>
#include <vector>

#include "webhook/mutate.h"
#include "weft/result.h"
#include "weftctl/inject/yaml_json.h"

namespace weft::ctl::inject {

enum class InjectMode {
  kAnnotate,  // add weft.io/inject: enabled; the webhook injects at admission (default)
  kManual,    // add the annotation and inject the proxy now, as the webhook would
};

struct TemplateOutcome {
  Json pod;                           // the template, changed or not
  bool changed = false;               // false: `pod` is the input, untouched
  std::string what;                   // "injected", "annotated", "skipped: <why>", "uninjected"...
  std::vector<std::string> warnings;  // the webhook's warnings for the pod
};

// `pod` is the template (metadata and spec) of an object in `namespace_name`.
// The pod is first opted in (weft.io/inject: enabled, unless it already says
// enabled or disabled), then reviewed as a CREATE through the opt-in path:
// - kManual: `injector`'s patch applied; already injected (and verified) or
//   left out by the webhook's rules (opted out, hostNetwork, a system
//   namespace): unchanged;
// - kAnnotate: the decision alone (no configuration needed); the rest of the
//   checks happen at admission. `injector` may be null.
// An Error is a pod the webhook would refuse, with the webhook's reason.
Result<TemplateOutcome> inject_pod_template(const Json& pod, std::string_view namespace_name,
                                            InjectMode mode, const webhook::Injector* injector);

// Removes what either mode added: the weft-init and weft-proxy containers,
// the volumes the injection adds, its annotations and weft.io/inject: enabled;
// a list or object left empty by that is removed too. Nothing else changes.
TemplateOutcome uninject_pod_template(const Json& pod);

}  // namespace weft::ctl::inject
