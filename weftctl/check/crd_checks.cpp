// weft-crds: each CRD of crds/ installed, established, serving and storing the
// version the operator reads, with the fields it relies on.

#include <string>

#include "weftctl/check/checks.h"
#include "weftctl/check/install_layout.h"

namespace weft::ctl::check {

namespace {

constexpr std::string_view kCategory = "weft-crds";
constexpr std::string_view kApplyHint = "kubectl apply --server-side -f crds/ (this release's)";

bool established(const nlohmann::json& crd) {
  const nlohmann::json::json_pointer where{"/status/conditions"};
  if (!crd.contains(where) || !crd.at(where).is_array()) return false;
  for (const auto& condition : crd.at(where)) {
    if (condition.value("type", "") == "Established")
      return condition.value("status", "") == "True";
  }
  return false;
}

const nlohmann::json* find_version(const nlohmann::json& crd, std::string_view name) {
  const nlohmann::json::json_pointer where{"/spec/versions"};
  if (!crd.contains(where) || !crd.at(where).is_array()) return nullptr;
  for (const auto& version : crd.at(where)) {
    if (version.value("name", "") == name) return &version;
  }
  return nullptr;
}

std::string version_names(const nlohmann::json& crd) {
  std::string names;
  for (const auto& version : crd.value("/spec/versions"_json_pointer, nlohmann::json::array())) {
    names += (names.empty() ? "" : ", ") + version.value("name", "?");
  }
  return names.empty() ? "none" : names;
}

// The first thing wrong with a CRD that was found, or "" when it is as expected.
std::string crd_problem(const nlohmann::json& crd, const ExpectedCrd& expected) {
  const nlohmann::json* version = find_version(crd, expected.version);
  if (version == nullptr) {
    return "no version " + expected.version + " (the cluster has " + version_names(crd) + ")";
  }
  if (!version->value("served", false)) return expected.version + " is not served";
  if (!version->value("storage", false)) return expected.version + " is not the storage version";
  const nlohmann::json::json_pointer spec{"/schema/openAPIV3Schema/properties/spec/properties"};
  std::string missing;
  for (const auto& field : expected.spec_fields) {
    if (!version->contains(spec) || !version->at(spec).contains(field)) {
      missing += (missing.empty() ? "" : ", ") + field;
    }
  }
  if (!missing.empty()) return "its schema lacks spec fields " + missing + " (an older CRD)";
  if (!established(crd)) return "not Established yet";
  return "";
}

}  // namespace

CheckResults check_crds(const Facts& facts) {
  const std::string category(kCategory);
  CheckResults results;
  for (const ExpectedCrd& expected : expected_crds()) {
    const std::string name = expected.name + " is installed at " + expected.version;
    const auto found = facts.crds.find(expected.name);
    if (found == facts.crds.end() || found->second.not_found()) {
      results.push_back(fail(category, name, "not installed", std::string(kApplyHint)));
      continue;
    }
    if (!found->second.found()) {
      results.push_back(fail(category, name, "cannot read it: " + found->second.describe(),
                             "weftctl check needs get on customresourcedefinitions"));
      continue;
    }
    if (const std::string problem = crd_problem(found->second.body, expected); !problem.empty()) {
      results.push_back(fail(category, name, problem, std::string(kApplyHint)));
      continue;
    }
    results.push_back(ok(category, name));
  }
  return results;
}

}  // namespace weft::ctl::check
