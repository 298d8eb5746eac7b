#pragma once

// A small structured logger: one JSON object per line, so log pipelines parse
// the output of all three programs the same way:
//   {"ts":"2024-05-01T12:00:00.123Z","level":"info","component":"operator","msg":"...","key":...}

#include <atomic>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "weft/result.h"

namespace weft {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// "debug", "info", "warn", "error".
std::string_view to_string(LogLevel level);
// Accepts the names above (from flags, the log-level annotation, the admin endpoint).
Result<LogLevel> parse_log_level(std::string_view text);

// One key/value of a log event. The value is JSON so numbers and booleans stay typed.
struct LogField {
  std::string_view key;
  nlohmann::json value;
};

// Receives one complete line, newline included. The logger serialises calls, so
// a sink needs no locking of its own.
using LogSink = std::function<void(std::string_view line)>;

// Writes each line with one fwrite, which stdio makes atomic against other writers.
LogSink stderr_sink();
// For tests and tools; the stream must outlive the logger.
LogSink ostream_sink(std::ostream& out);

// RFC 3339 in UTC with milliseconds: "2024-05-01T12:00:00.123Z".
std::string format_log_timestamp(std::chrono::system_clock::time_point time);

class Logger {
 public:
  explicit Logger(std::string component, LogLevel min_level = LogLevel::kInfo,
                  LogSink sink = stderr_sink());
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Safe to call while other threads log (e.g. from the admin endpoint).
  void set_level(LogLevel level) { min_level_.store(level, std::memory_order_relaxed); }
  LogLevel level() const { return min_level_.load(std::memory_order_relaxed); }
  // Check this before building expensive fields on hot paths.
  bool enabled(LogLevel level) const { return level >= this->level(); }

  // Never throws for any message or field content: invalid UTF-8 is replaced.
  // A field named like a built-in key (ts, level, component, msg) is written as
  // "field.<key>" so it cannot shadow the built-in one.
  void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
  void debug(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kDebug, msg, fields);
  }
  void info(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kInfo, msg, fields);
  }
  void warn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kWarn, msg, fields);
  }
  void error(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kError, msg, fields);
  }

 private:
  const std::string component_;
  std::atomic<LogLevel> min_level_;
  std::mutex sink_mutex_;  // one line at a time reaches the sink
  LogSink sink_;
};

}  // namespace weft
