#include "weft/dns_name.h"

#include <catch2/catch.hpp>
#include <string>

TEST_CASE("dns name: labels", "[dns_name]") {
  CHECK(weft::is_dns_label("a"));
  CHECK(weft::is_dns_label("shop-1"));
  CHECK(weft::is_dns_label(std::string(63, 'a')));
  CHECK_FALSE(weft::is_dns_label(std::string(64, 'a')));
  CHECK_FALSE(weft::is_dns_label(""));
  CHECK_FALSE(weft::is_dns_label("-a"));
  CHECK_FALSE(weft::is_dns_label("a-"));
  CHECK_FALSE(weft::is_dns_label("A"));
  CHECK_FALSE(weft::is_dns_label("a.b"));
  CHECK_FALSE(weft::is_dns_label("a_b"));
}

TEST_CASE("dns name: subdomains", "[dns_name]") {
  CHECK(weft::is_dns_subdomain("web"));
  CHECK(weft::is_dns_subdomain("web.v2"));
  CHECK_FALSE(weft::is_dns_subdomain(""));
  CHECK_FALSE(weft::is_dns_subdomain("."));
  CHECK_FALSE(weft::is_dns_subdomain("a..b"));
  CHECK_FALSE(weft::is_dns_subdomain(".a"));
  CHECK_FALSE(weft::is_dns_subdomain("a."));
  CHECK_FALSE(weft::is_dns_subdomain("a.-b"));
  CHECK_FALSE(weft::is_dns_subdomain("Web"));
  std::string long_name = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                          std::string(63, 'c') + "." + std::string(61, 'd');  // 253
  CHECK(weft::is_dns_subdomain(long_name));
  CHECK_FALSE(weft::is_dns_subdomain(long_name + "d"));
}
