#pragma once

// Helpers for the kube client's integration tests: a client for the local
// control plane of $KUBECONFIG, a throw-away namespace per test, the pinned
// kubectl of $KUBECTL for changes made outside the client, and polling.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "weft/kube/client.h"
#include "weft/kube/config.h"

namespace kube_it {

inline std::string env_or_fail(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') FAIL(name << " is not set (run through ctest)");
  return value;
}

inline weft::kube::ClientConfig admin_config() {
  auto config = weft::kube::load_kubeconfig(env_or_fail("KUBECONFIG"));
  REQUIRE(config);
  return *config;
}

inline std::shared_ptr<weft::kube::Client> client_for(weft::kube::ClientConfig config) {
  auto client = weft::kube::Client::from_config(std::move(config));
  REQUIRE(client);
  return *client;
}

inline std::shared_ptr<weft::kube::Client> admin_client() {
  return client_for(admin_config());
}

// Runs the pinned kubectl with the test's KUBECONFIG; returns its stdout.
// Arguments are trusted test text.
inline std::string kubectl(const std::string& args, int* exit_code = nullptr) {
  std::string command = env_or_fail("KUBECTL") + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  int status = pclose(pipe);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (exit_code != nullptr) {
    *exit_code = code;
  } else {
    INFO("kubectl " << args << "\n" << out);
    REQUIRE(code == 0);
  }
  return out;
}

// A namespace for one test, deleted (without waiting) at the end.
class TestNamespace {
 public:
  TestNamespace(weft::kube::Client& client, const std::string& prefix) : client_(client) {
    name_ = prefix + "-" + std::to_string(::getpid());
    auto created =
        client_.create(weft::kube::resources::namespaces(), {{"metadata", {{"name", name_}}}});
    INFO((created ? "" : created.error().message));
    REQUIRE(created);
  }
  ~TestNamespace() { (void)client_.remove(weft::kube::resources::namespaces(), "", name_); }
  const std::string& name() const { return name_; }

 private:
  weft::kube::Client& client_;
  std::string name_;
};

// Polls until pred() or the (generous) timeout; returns pred().
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

inline nlohmann::json config_map(const std::string& ns, const std::string& name,
                                 nlohmann::json data = nlohmann::json::object()) {
  return {{"metadata", {{"name", name}, {"namespace", ns}}}, {"data", std::move(data)}};
}

}  // namespace kube_it
