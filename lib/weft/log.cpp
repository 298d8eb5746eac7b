#include "weft/log.h"

#include <fmt/format.h>

#include <cstdio>
#include <ostream>
#include <utility>

namespace weft {
namespace {

// Log content is often untrusted (paths, headers): replace invalid UTF-8 rather
// than let nlohmann::json throw from inside a log call.
std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string json_string(std::string_view text) {
  return dump_json(nlohmann::json(text));
}

bool is_builtin_key(std::string_view key) {
  return key == "ts" || key == "level" || key == "component" || key == "msg";
}

}  // namespace

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

Result<LogLevel> parse_log_level(std::string_view text) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == to_string(level)) return level;
  }
  return Error{fmt::format("unknown log level {:?}; expected debug, info, warn or error", text)};
}

LogSink stderr_sink() {
  return [](std::string_view line) { std::fwrite(line.data(), 1, line.size(), stderr); };
}

LogSink ostream_sink(std::ostream& out) {
  return [&out](std::string_view line) { out.write(line.data(), std::ssize(line)).flush(); };
}

std::string format_log_timestamp(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss clock{floor<milliseconds>(time - day)};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     clock.hours().count(), clock.minutes().count(), clock.seconds().count(),
                     clock.subseconds().count());
}

Logger::Logger(std::string component, LogLevel min_level, LogSink sink)
    : component_(std::move(component)), min_level_(min_level), sink_(std::move(sink)) {}

void Logger::log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!enabled(level)) return;

  // Build the whole line before taking the lock, so the lock covers only the write.
  std::string line = fmt::format(R"({{"ts":"{}","level":"{}","component":{},"msg":{})",
                                 format_log_timestamp(std::chrono::system_clock::now()),
                                 to_string(level), json_string(component_), json_string(msg));
  for (const LogField& field : fields) {
    line += ',';
    line += is_builtin_key(field.key) ? json_string(fmt::format("field.{}", field.key))
                                      : json_string(field.key);
    line += ':';
    line += dump_json(field.value);
  }
  line += "}\n";

  const std::lock_guard lock(sink_mutex_);
  sink_(line);
}

}  // namespace weft
