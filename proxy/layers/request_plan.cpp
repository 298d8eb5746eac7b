#include "proxy/layers/request_plan.h"

#include "proxy/layers/admission.h"
#include "proxy/layers/authorization.h"
#include "proxy/tls/mtls_mode.h"

namespace weft::proxy {

Plan plan_request(Worker& worker, const ConnectionTarget& target, std::string_view destination_text,
                  Request& request, bool probe_capable, std::string& refusal_body) {
  Runtime& runtime = worker.runtime;
  request.client_identity = target.client_identity;
  const bool inbound = target.direction == Direction::kInbound;
  const std::uint16_t port = target.destination.port();
  const authz::InboundPolicies* policies = inbound ? worker.routes.policies().get() : nullptr;
  if (inbound) {
    request.probe_routes = probe_routes_of_port(runtime.settings.inbound_probes, port);
    if (target.client_identity.empty()) {
      const PlaintextInbound plaintext = plaintext_inbound(
          policies->mtls_mode(port), runtime.settings.inbound_probes, port, probe_capable);
      request.mtls_required = plaintext.access != PlaintextInbound::Access::kServed;
      // Refused outright (HTTP/2, which the kubelet never probes with): no
      // probe path is exempt.
      if (plaintext.access == PlaintextInbound::Access::kRefused) request.probe_routes = {};
    }
  }
  std::optional<LocalAnswer> refused = admit(request);
  if (refused && refused->reason == kMtlsRequiredReason) {
    runtime.tls_metrics.strict_refused(StrictRefusal::kNotAProbe).inc();
  }
  if (!refused && inbound) {
    const ClientKey key(target.client_identity, target.client_address);
    const authz::Client client{target.client_identity, target.client_address};
    const AuthorizationVerdict verdict =
        authorize_request(request, {*policies, port, client, key.view(), runtime.rate_limiter});
    record_verdict(runtime.authz_telemetry, verdict, true, key.view(), port, request.path);
    if (verdict.refused()) refused = refusal_answer(verdict, refusal_body);
  }
  Plan plan = plan_route(worker.routes, target, destination_text, request);
  if (refused) plan.local = *refused;
  return plan;
}

}  // namespace weft::proxy
