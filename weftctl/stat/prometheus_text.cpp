#include "weftctl/stat/prometheus_text.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace weft::ctl::stat {
namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}
bool is_label_start(char c) {
  return is_name_start(c) && c != ':';
}
bool is_label_char(char c) {
  return is_name_char(c) && c != ':';
}

// A cursor over one line; each read returns what is wrong, or "" when fine.
class LineReader {
 public:
  explicit LineReader(std::string_view line) : line_(line) {}

  bool done() const { return at_ >= line_.size(); }
  char peek() const { return done() ? '\0' : line_[at_]; }
  void skip_blanks() {
    while (!done() && (line_[at_] == ' ' || line_[at_] == '\t')) ++at_;
  }

  std::string_view name(bool label_name) {
    const std::size_t start = at_;
    if (done() || !(label_name ? is_label_start(peek()) : is_name_start(peek()))) return {};
    ++at_;
    while (!done() && (label_name ? is_label_char(peek()) : is_name_char(peek()))) ++at_;
    return line_.substr(start, at_ - start);
  }

  bool take(char expected) {
    if (peek() != expected) return false;
    ++at_;
    return true;
  }

  // A quoted label value after its opening quote, unescaped (\\ \" \n).
  std::string quoted(std::string& problem) {
    std::string value;
    while (!done()) {
      const char c = line_[at_++];
      if (c == '"') return value;
      if (c != '\\') {
        value += c;
        continue;
      }
      const char escaped = peek();
      ++at_;
      if (escaped == '\\' || escaped == '"') {
        value += escaped;
      } else if (escaped == 'n') {
        value += '\n';
      } else {
        problem = fmt::format("unknown escape \\{} in a label value", escaped);
        return {};
      }
    }
    problem = "a label value has no closing quote";
    return {};
  }

  // The next word: up to a blank or the end.
  std::string_view word() {
    const std::size_t start = at_;
    while (!done() && peek() != ' ' && peek() != '\t') ++at_;
    return line_.substr(start, at_ - start);
  }

 private:
  std::string_view line_;
  std::size_t at_ = 0;
};

// A sample value: a Go float, or +Inf, -Inf, NaN.
Result<double> parse_value(std::string_view text) {
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(copy.c_str(), &end);
  // strtod also reads "inf", "nan" and hexadecimal; the format has none of those.
  const bool plain = copy.find_first_not_of("0123456789+-.eE") == std::string::npos;
  if (copy.empty() || end != copy.c_str() + copy.size() || !plain || errno == ERANGE) {
    return Error{fmt::format("{:?} is not a number", text)};
  }
  return value;
}

Result<Sample> parse_sample(std::string_view line) {
  LineReader reader(line);
  Sample sample;
  sample.name = std::string(reader.name(false));
  if (sample.name.empty()) return Error{"a sample must start with a metric name"};
  if (reader.take('{')) {
    while (true) {
      reader.skip_blanks();
      if (reader.take('}')) break;
      const std::string_view label_name = reader.name(true);
      if (label_name.empty()) return Error{"expected a label name or '}'"};
      reader.skip_blanks();
      if (!reader.take('=')) return Error{fmt::format("label {} has no '='", label_name)};
      reader.skip_blanks();
      if (!reader.take('"')) {
        return Error{fmt::format("the value of label {} is not quoted", label_name)};
      }
      std::string problem;
      std::string value = reader.quoted(problem);
      if (!problem.empty()) return Error{problem};
      if (!sample.labels.emplace(std::string(label_name), std::move(value)).second) {
        return Error{fmt::format("label {} given twice", label_name)};
      }
      reader.skip_blanks();
      if (reader.take(',')) continue;
      if (reader.take('}')) break;
      return Error{"expected ',' or '}' after a label"};
    }
  }
  const char after_name = reader.peek();
  if (after_name != ' ' && after_name != '\t') {
    return Error{after_name == '\0' ? std::string("the sample has no value")
                                    : fmt::format("unexpected {:?} after the metric name",
                                                  std::string(1, after_name))};
  }
  reader.skip_blanks();
  auto value = parse_value(reader.word());
  if (!value) return value.error();
  sample.value = *value;
  reader.skip_blanks();
  if (!reader.done()) {
    const std::string_view timestamp = reader.word();
    if (timestamp.find_first_not_of("-0123456789") != std::string_view::npos || timestamp.empty()) {
      return Error{fmt::format("{:?} is not a timestamp in milliseconds", timestamp)};
    }
    reader.skip_blanks();
    if (!reader.done()) return Error{"unexpected text after the timestamp"};
  }
  return sample;
}

}  // namespace

std::string_view label(const Sample& sample, std::string_view name) {
  const auto found = sample.labels.find(name);
  return found == sample.labels.end() ? std::string_view() : std::string_view(found->second);
}

Result<std::vector<Sample>> parse_prometheus_text(std::string_view text) {
  std::vector<Sample> samples;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    auto sample = parse_sample(line.substr(first));
    if (!sample) return Error{fmt::format("line {}: {}", number, sample.error().message)};
    samples.push_back(std::move(*sample));
  }
  return samples;
}

}  // namespace weft::ctl::stat
