#include "weftctl/stat/cluster.h"

#include <fmt/format.h>

#include <optional>
#include <thread>

#include "weftctl/pod_probe.h"

namespace weft::ctl::stat {
namespace {

class KubeCluster final : public Cluster {
 public:
  using Factory = std::function<weft::Result<std::shared_ptr<kube::Client>>()>;
  KubeCluster(Factory factory, const PodProbeLimits& pod_probe)
      : factory_(std::move(factory)), pod_probe_(pod_probe) {}

  weft::Result<void> connect() override {
    if (client_) return {};
    auto made = factory_();
    if (!made) return made.error();
    client_ = std::move(*made);
    return {};
  }

  kube::Result<std::vector<nlohmann::json>> list(const kube::ResourceType& type,
                                                 std::string_view ns) override {
    if (auto problem = unconnected()) return *problem;
    auto listed = client_->list(type, ns);
    if (!listed) return listed.error();
    return std::move(listed->items);
  }

  kube::Result<nlohmann::json> get(const kube::ResourceType& type, std::string_view ns,
                                   std::string_view name) override {
    if (auto problem = unconnected()) return *problem;
    return client_->get(type, ns, name);
  }

  kube::Result<std::string> pod_get(std::string_view ns, std::string_view pod, std::uint16_t port,
                                    std::string_view path) override {
    if (auto problem = unconnected()) return *problem;
    // object_path checks the names, so a pod name cannot address something else.
    auto object = kube::object_path(kube::resources::pods(), ns, pod);
    if (!object) {
      return kube::make_error(kube::ErrorKind::kBadRequest, "pod proxy", object.error().message);
    }
    const kube::RawRequest request =
        pod_probe_request(fmt::format("{}:{}/proxy{}", *object, port, path), pod_probe_);
    auto answer = client_->raw(request);
    if (!answer) return answer.error();
    if (answer->status != 200) {
      return kube::error_from_response("GET " + request.path, answer->status, answer->body);
    }
    return std::move(answer->body);
  }

  std::chrono::duration<double> wait(std::chrono::milliseconds duration) override {
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(duration);
    return std::chrono::steady_clock::now() - start;
  }

 private:
  std::optional<kube::ApiError> unconnected() {
    if (auto connected = connect(); !connected) {
      return kube::make_error(kube::ErrorKind::kConfig, "connecting", connected.error().message);
    }
    return std::nullopt;
  }

  Factory factory_;
  PodProbeLimits pod_probe_;
  std::shared_ptr<kube::Client> client_;
};

}  // namespace

std::unique_ptr<Cluster> kube_cluster(
    std::function<weft::Result<std::shared_ptr<kube::Client>>()> client,
    const PodProbeLimits& pod_probe) {
  return std::make_unique<KubeCluster>(std::move(client), pod_probe);
}

}  // namespace weft::ctl::stat
