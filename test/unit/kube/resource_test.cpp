#include "weft/kube/resource.h"

#include <catch2/catch.hpp>
#include <cctype>

using namespace weft::kube;

TEST_CASE("API prefixes and apiVersion for core and grouped resources") {
  CHECK(resources::config_maps().api_prefix() == "/api/v1");
  CHECK(resources::config_maps().api_version() == "v1");
  CHECK(resources::mesh_routes().api_prefix() == "/apis/weft.io/v1alpha1");
  CHECK(resources::mesh_routes().api_version() == "weft.io/v1alpha1");
  CHECK(resources::endpoint_slices().api_prefix() == "/apis/discovery.k8s.io/v1");
  CHECK(*object_path(resources::role_bindings(), "ns", "b") ==
        "/apis/rbac.authorization.k8s.io/v1/namespaces/ns/rolebindings/b");
  CHECK(*object_path(resources::cluster_roles(), "", "r") ==
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/r");
  CHECK(*object_path(resources::custom_resource_definitions(), "", "meshroutes.weft.io") ==
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/meshroutes.weft.io");
}

TEST_CASE("every well-known resource is complete and consistent") {
  for (const ResourceType* type :
       {&resources::namespaces(), &resources::config_maps(), &resources::secrets(),
        &resources::services(), &resources::service_accounts(), &resources::pods(),
        &resources::events(), &resources::endpoint_slices(), &resources::leases(),
        &resources::mesh_routes(), &resources::mesh_policies(), &resources::roles(),
        &resources::role_bindings(), &resources::cluster_roles(),
        &resources::cluster_role_bindings(), &resources::deployments(),
        &resources::custom_resource_definitions(), &resources::mutating_webhook_configurations()}) {
    CAPTURE(type->plural);
    CHECK(!type->kind.empty());
    CHECK(!type->version.empty());
    // Every plural here starts with the lower-case kind, less its last letter
    // (Policy -> policies).
    std::string lower;
    for (char c : type->kind) lower += static_cast<char>(std::tolower(c));
    CHECK(type->plural.rfind(lower.substr(0, lower.size() - 1), 0) == 0);
    CHECK(collection_path(*type, type->namespaced ? "ns" : ""));
  }
}

TEST_CASE("collection paths: namespaced, all namespaces, cluster-scoped") {
  CHECK(*collection_path(resources::config_maps(), "shop") == "/api/v1/namespaces/shop/configmaps");
  CHECK(*collection_path(resources::config_maps(), "") == "/api/v1/configmaps");
  CHECK(*collection_path(resources::mesh_policies(), "a-1") ==
        "/apis/weft.io/v1alpha1/namespaces/a-1/meshpolicies");
  CHECK(*collection_path(resources::namespaces(), "") == "/api/v1/namespaces");

  auto scoped = collection_path(resources::namespaces(), "shop");
  REQUIRE_FALSE(scoped);
  CHECK(scoped.error().kind == ErrorKind::kBadRequest);
  CHECK_THAT(scoped.error().message, Catch::Contains("cluster-scoped"));

  for (const char* bad : {"Shop", "a/b", "-a", "a..b", "a b"}) {
    CAPTURE(bad);
    CHECK_FALSE(collection_path(resources::config_maps(), bad));
  }
}

TEST_CASE("object paths and subresources") {
  CHECK(*object_path(resources::config_maps(), "shop", "weft-proxy-config") ==
        "/api/v1/namespaces/shop/configmaps/weft-proxy-config");
  CHECK(*object_path(resources::mesh_routes(), "shop", "r1", "status") ==
        "/apis/weft.io/v1alpha1/namespaces/shop/meshroutes/r1/status");
  CHECK(*object_path(resources::namespaces(), "", "shop") == "/api/v1/namespaces/shop");
  CHECK(*object_path(resources::service_accounts(), "ns", "sa", "token") ==
        "/api/v1/namespaces/ns/serviceaccounts/sa/token");

  auto no_ns = object_path(resources::config_maps(), "", "x");
  REQUIRE_FALSE(no_ns);
  CHECK_THAT(no_ns.error().message, Catch::Contains("namespaced"));

  // Names that would change what the URL addresses are refused before sending.
  for (const char* bad : {"", ".", "..", "a/b", "a%2Fb", "a?b", "a#b", "a b"}) {
    CAPTURE(bad);
    CHECK_FALSE(object_path(resources::config_maps(), "ns", bad));
  }
  CHECK_FALSE(object_path(resources::config_maps(), "ns", "x", "sta/tus"));
  CHECK(object_path(resources::config_maps(), "ns", "system:node:a.b"));
}

TEST_CASE("query strings are percent-encoded in order") {
  CHECK(query_string({}).empty());
  CHECK(query_string({{"watch", "1"}, {"labelSelector", "app in (a,b),tier!=x"}}) ==
        "?watch=1&labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Dx");
  CHECK(url_encode("a-b_c.d~e") == "a-b_c.d~e");
  CHECK(url_encode("\xc3\xa9/=&") == "%C3%A9%2F%3D%26");
}

TEST_CASE("metadata accessors tolerate missing and mistyped fields") {
  auto object =
      nlohmann::json::parse(R"({"metadata":{"name":"a","namespace":"b","resourceVersion":"42"}})");
  CHECK(object_name(object) == "a");
  CHECK(object_namespace(object) == "b");
  CHECK(object_resource_version(object) == "42");
  CHECK(object_name(nlohmann::json::parse(R"({"metadata":{"name":7}})")).empty());
  CHECK(object_name(nlohmann::json::parse(R"({"metadata":[]})")).empty());
  CHECK(object_name(nlohmann::json::array()).empty());
}
