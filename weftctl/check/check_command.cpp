#include "weftctl/check/check_command.h"

#include <ostream>
#include <thread>

#include "weft/flags.h"
#include "weftctl/check/render.h"
#include "weftctl/output.h"

namespace weft::ctl::check {

namespace {

const flags::Program<CheckOptions> kProgram{
    .usage = "Usage: weftctl check [--pre] [--wait DURATION] [-o table|json|yaml]",
    .about =
        "Checks that Weft is healthy: the API server and its version, the CRDs, the control\n"
        "plane's pods, the webhook's registration and certificate, the identity trust anchors\n"
        "and issuer, each meshed namespace's proxy configuration and each meshed pod's proxy\n"
        "(its version and document, through the API server's pod proxy). Exit status 1 when\n"
        "a check fails (×), 0 otherwise (warnings ‼ allowed).",
    .flags = {
        flags::boolean("pre", &CheckOptions::pre,
                       "before installing: the API server, its version, and whether you may\n"
                       "create what the install creates (SelfSubjectAccessReview)"),
        flags::duration("wait", &CheckOptions::wait,
                        "check again until healthy or this long has passed (then exit 1 with\n"
                        "the last results)")
            .shown_default(""),
        flags::duration("wait-interval", &CheckOptions::wait_interval,
                        "with --wait: the pause between two rounds",
                        std::chrono::milliseconds(100)),
        flags::duration("min-certificate-validity", &CheckOptions::min_certificate_validity,
                        "warn when a trust anchor (or an issuer Weft does not renew) expires\n"
                        "sooner than this"),
    }};

}  // namespace

int run_check(Context& context, const CheckOptions& options, ClusterReader& reader,
              const std::function<TimePoint()>& now, const SteadyClock& clock, const Sleep& sleep) {
  const Mode mode = options.pre ? Mode::kPreInstall : Mode::kInstalled;
  const Thresholds thresholds{
      std::chrono::duration_cast<std::chrono::seconds>(options.min_certificate_validity)};
  // A round stops at the deadline too, not only between rounds.
  if (options.wait) reader.set_deadline(clock() + *options.wait);
  const CheckResults results =
      check_until_healthy([&] { return run_checks(gather_facts(reader, mode, now()), thresholds); },
                          WaitPlan{options.wait, options.wait_interval}, clock, sleep);
  switch (context.options.output) {
    case Output::kJson:
      write_json(context.out, results_json(results));
      break;
    case Output::kYaml:
      write_yaml(context.out, results_json(results));
      break;
    case Output::kTable:
      render_checklist(context.out, results, context.options.color);
      break;
  }
  return healthy(results) ? 0 : 1;
}

}  // namespace weft::ctl::check

namespace weft::ctl {

int check_command(Context& context, const std::vector<std::string>& args) {
  auto parsed = flags::parse(check::kProgram, args);
  if (!parsed) {
    context.err << "weftctl check: " << terminal_safe(parsed.error().message) << "\n";
    return 2;
  }
  if (parsed->help) {
    context.out << flags::usage(check::kProgram);
    return 0;
  }
  auto client = context.client();
  if (!client) {
    context.err << "weftctl check: " << terminal_safe(client.error().message) << "\n";
    return 1;
  }
  check::ApiClusterReader reader(**client, context.options.pod_probe);
  return check::run_check(
      context, parsed->options, reader, [] { return std::chrono::system_clock::now(); },
      [] { return std::chrono::steady_clock::now(); },
      [](std::chrono::milliseconds pause) { std::this_thread::sleep_for(pause); });
}

}  // namespace weft::ctl
