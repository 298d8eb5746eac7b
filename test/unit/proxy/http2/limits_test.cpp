#include "proxy/http2/limits.h"

#include <catch2/catch.hpp>

#include "proxy/metrics.h"
#include "proxy/settings.h"

using namespace weft::proxy;
using namespace weft::proxy::http2;

namespace {

std::optional<std::uint32_t> entry(const std::vector<nghttp2_settings_entry>& entries,
                                   std::int32_t id) {
  for (const auto& e : entries) {
    if (e.settings_id == id) return e.value;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("the HTTP/2 limits come from the flags, with their defaults", "[http2]") {
  auto settings = parse_settings({"--http2-max-concurrent-streams", "7", "--http2-stream-window",
                                  "1048576", "--http2-reset-rate", "5"},
                                 weft::flags::environment_of({}));
  REQUIRE(settings);
  const Limits limits = limits_from(*settings);
  CHECK(limits.max_concurrent_streams == 7);
  CHECK(limits.stream_window == 1048576);
  CHECK(limits.reset_rate == 5);
  const Limits defaults = limits_from(Settings{});
  CHECK(defaults.max_concurrent_streams == 250);
  CHECK(defaults.max_header_list_size == 32 * 1024);
  CHECK(defaults.max_frame_size == 16 * 1024);
  CHECK(defaults.max_continuations == 8);
  CHECK(defaults.reset_burst == 1000);
}

TEST_CASE("the HTTP/2 time and size limits of issue 16 have flags and defaults", "[http2]") {
  using namespace std::chrono_literals;
  const Settings defaults;
  CHECK(limits_from(defaults).write_timeout == 30s);
  CHECK(defaults.http2_stream_idle_timeout == 5min);
  CHECK(defaults.http2_max_open_header_bytes == 1024 * 1024);
  CHECK(defaults.http2_max_connections_per_endpoint == 64);
  auto settings = parse_settings(
      {"--http2-write-timeout", "3s", "--http2-stream-idle-timeout", "2s",
       "--http2-max-open-header-bytes", "65536", "--http2-max-connections-per-endpoint", "2"},
      weft::flags::environment_of({}));
  REQUIRE(settings);
  CHECK(limits_from(*settings).write_timeout == 3s);
  CHECK(settings->http2_stream_idle_timeout == 2s);
  CHECK(settings->http2_max_open_header_bytes == 65536);
  CHECK(settings->http2_max_connections_per_endpoint == 2);
  CHECK_FALSE(parse_settings({"--http2-max-connections-per-endpoint", "0"},
                             weft::flags::environment_of({})));
  CHECK(to_string(Limit::kHttp2WriteTimeout) == "http2_write_timeout");
  CHECK(to_string(Limit::kHttp2UpstreamConnections) == "http2_upstream_connections");
}

TEST_CASE("the HTTP/2 session cache has a flag and a default", "[http2]") {
  CHECK(limits_from(Settings{}).session_cache_bytes == 64 * 1024);
  auto settings =
      parse_settings({"--http2-session-cache-bytes", "0"}, weft::flags::environment_of({}));
  REQUIRE(settings);
  CHECK(limits_from(*settings).session_cache_bytes == 0);
  CHECK_FALSE(
      parse_settings({"--http2-session-cache-bytes", "-1"}, weft::flags::environment_of({})));
  CHECK(to_string(Limit::kHttp2SessionCache) == "http2_session_cache");
}

TEST_CASE("out-of-range HTTP/2 limits are usage errors", "[http2]") {
  CHECK_FALSE(parse_settings({"--http2-max-frame-size", "1000"}, weft::flags::environment_of({})));
  CHECK_FALSE(
      parse_settings({"--http2-max-concurrent-streams", "0"}, weft::flags::environment_of({})));
}

TEST_CASE("each side announces its own SETTINGS", "[http2]") {
  Limits limits;
  limits.max_concurrent_streams = 50;
  limits.stream_window = 100000;
  const auto server = local_settings(limits, Side::kServer);
  CHECK(entry(server, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) == 50u);
  CHECK(entry(server, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE) == 100000u);
  CHECK(entry(server, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE) == 32u * 1024);
  CHECK_FALSE(entry(server, NGHTTP2_SETTINGS_ENABLE_PUSH));
  const auto client = local_settings(limits, Side::kClient);
  CHECK(entry(client, NGHTTP2_SETTINGS_ENABLE_PUSH) == 0u);  // no server push, ever
  CHECK_FALSE(entry(client, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS));
  CHECK(session_options(limits) != nullptr);
}

TEST_CASE("only connections between meshed proxies send their frames in batches", "[http2]") {
  const auto settings =
      parse_settings({"--http2-mesh-write-batch", "6"}, weft::flags::environment_of({}));
  REQUIRE(settings);
  CHECK(limits_from(*settings, /*mesh_peer=*/true).write_batch == 6);
  CHECK(limits_from(*settings).write_batch == 0);  // an app's HTTP/2: one write per turn
  CHECK(limits_from(Settings{}, true).write_batch == 4);
  CHECK_FALSE(parse_settings({"--http2-mesh-write-batch", "-1"}, weft::flags::environment_of({})));
}
