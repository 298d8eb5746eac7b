#include "proxy/config/api_server_access.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

using namespace weft::proxy;

namespace {

// A service-account directory as the kubelet mounts it.
struct MountedServiceAccount {
  MountedServiceAccount() {
    dir = std::filesystem::temp_directory_path() /
          ("weft-proxy-sa-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(dir);
    write("token", "  eyJtoken\n");
    write("ca.crt", "-----BEGIN CERTIFICATE-----\n");
    write("namespace", "shop\n");
  }
  ~MountedServiceAccount() { std::filesystem::remove_all(dir); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
  }
  std::filesystem::path dir;
};

}  // namespace

TEST_CASE("in-cluster access from the kubelet's variables and mount", "[watch]") {
  MountedServiceAccount mount;
  const auto env = weft::flags::environment_of(
      {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "6443"}});
  auto access = in_cluster_access(env, mount.dir.string(), "");
  REQUIRE(access.has_value());
  CHECK(access.value().host == "10.96.0.1");
  CHECK(access.value().port == 6443);
  CHECK(access.value().ns == "shop");
  CHECK(read_token(access.value().token_path) == "eyJtoken");
  // --pod-namespace wins over the mounted namespace.
  CHECK(in_cluster_access(env, mount.dir.string(), "other").value().ns == "other");
  // The default port is 443.
  CHECK(in_cluster_access(weft::flags::environment_of({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}}),
                          mount.dir.string(), "")
            .value()
            .port == 443);
}

TEST_CASE("missing in-cluster pieces are named", "[watch]") {
  MountedServiceAccount mount;
  const auto env = weft::flags::environment_of({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}});
  CHECK_THAT(
      in_cluster_access(weft::flags::environment_of({}), mount.dir.string(), "").error().message,
      Catch::Contains("KUBERNETES_SERVICE_HOST"));
  CHECK_THAT(
      in_cluster_access(weft::flags::environment_of({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                                     {"KUBERNETES_SERVICE_PORT", "http"}}),
                        mount.dir.string(), "")
          .error()
          .message,
      Catch::Contains("KUBERNETES_SERVICE_PORT"));
  mount.write("token", " \n");
  CHECK_THAT(in_cluster_access(env, mount.dir.string(), "").error().message,
             Catch::Contains("no token"));
  mount.write("token", "t");
  std::filesystem::remove(mount.dir / "ca.crt");
  CHECK_THAT(in_cluster_access(env, mount.dir.string(), "").error().message,
             Catch::Contains("ca.crt"));
  mount.write("ca.crt", "pem");
  std::filesystem::remove(mount.dir / "namespace");
  CHECK_THAT(in_cluster_access(env, mount.dir.string(), "").error().message,
             Catch::Contains("--pod-namespace"));
}
