#include "weftctl/json_depth.h"

#include <nlohmann/json.hpp>
#include <string>

namespace weft::ctl {

namespace {

// Counts levels and stops the parse at the first one too deep; builds nothing.
class DepthCounter final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit DepthCounter(int max_depth) : max_depth_(max_depth) {}

  bool too_deep() const { return too_deep_; }

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return enter(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool enter() {
    too_deep_ = ++depth_ > max_depth_;
    return !too_deep_;
  }
  bool leave() {
    --depth_;
    return true;
  }

  int max_depth_;
  int depth_ = 0;
  bool too_deep_ = false;
};

}  // namespace

bool json_depth_within(std::string_view text, int max_depth) {
  DepthCounter counter(max_depth);
  nlohmann::json::sax_parse(text.begin(), text.end(), &counter,
                            nlohmann::json::input_format_t::json,
                            /*strict=*/false);
  return !counter.too_deep();
}

}  // namespace weft::ctl
