#include "samples/app/reply.h"

#include <nlohmann/json.hpp>

namespace weft::samples {

namespace {

// A downstream body is embedded as JSON when it is JSON (another sample app),
// otherwise as text, cut short so one odd downstream cannot bloat every answer.
constexpr std::size_t kMaxEmbeddedTextBytes = 512;

nlohmann::ordered_json call_json(const DownstreamCall& call) {
  nlohmann::ordered_json out;
  out["url"] = call.url;
  const CallResult& result = call.result;
  out["status"] =
      result.status ? nlohmann::ordered_json(*result.status) : nlohmann::ordered_json(nullptr);
  out["latency_ms"] = std::chrono::duration<double, std::milli>(result.latency).count();
  if (result.failure != CallFailure::kNone) {
    out["error"] = std::string(to_string(result.failure)) + ": " + result.error;
  }
  if (result.status) {
    auto parsed = nlohmann::ordered_json::parse(result.body, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) {
      out["body"] = std::move(parsed);
    } else {
      out["body"] = result.body.substr(0, kMaxEmbeddedTextBytes);
    }
  }
  return out;
}

}  // namespace

bool call_succeeded(const CallResult& result) {
  return result.status && *result.status >= 200 && *result.status < 300;
}

Reply build_reply(const Identity& identity, bool injected_failure,
                  const std::vector<DownstreamCall>& calls) {
  Reply reply;
  nlohmann::ordered_json body;
  body["name"] = identity.name;
  body["version"] = identity.version;
  body["pod"] = identity.pod_name;
  if (injected_failure) {
    reply.status = 500;
    body["error"] = "injected failure";
  } else {
    body["downstream"] = nlohmann::ordered_json::array();
    for (const auto& call : calls) {
      body["downstream"].push_back(call_json(call));
      if (!call_succeeded(call.result)) reply.status = 502;
    }
    if (reply.status == 502) body["error"] = "a downstream call failed";
  }
  body["status"] = reply.status;
  // Replace invalid UTF-8 from a downstream instead of throwing.
  reply.body = body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return reply;
}

}  // namespace weft::samples
