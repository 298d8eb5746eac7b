#include "weftctl/check/checks.h"

namespace weft::ctl::check {

CheckResults run_checks(const Facts& facts, const Thresholds& thresholds) {
  CheckResults results = check_kubernetes_api(facts);
  if (!facts.server_version.found()) return results;
  const auto add = [&results](CheckResults more) {
    results.insert(results.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
  };
  if (facts.mode == Mode::kPreInstall) {
    add(check_install_permissions(facts));
    return results;
  }
  add(check_crds(facts));
  add(check_control_plane(facts));
  if (!facts.control_plane_namespace.found()) return results;  // not installed: said above
  add(check_webhook(facts));
  add(check_identity(facts, thresholds));
  add(check_data_plane(facts));
  return results;
}

}  // namespace weft::ctl::check
