#pragma once

// A connection's receive buffer: bytes arrive at the end, are consumed from
// the front. Parsed heads and body slices are views into it, valid until the
// next prepare(), which may move the unread bytes to the front or grow the
// storage (up to max_size). One per connection, reused for every message, so
// a keep-alive connection does not allocate per request. The storage is
// allocated by the first prepare(): a connection that never sends holds none.

#include <boost/asio/buffer.hpp>
#include <cstring>
#include <string_view>
#include <vector>

namespace weft::proxy {

class ReadBuffer {
 public:
  explicit ReadBuffer(std::size_t initial_size = 16 * 1024, std::size_t max_size = 64 * 1024)
      : initial_size_(initial_size), max_size_(max_size) {}

  std::string_view data() const { return {storage_.data() + begin_, end_ - begin_}; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  bool full() const { return begin_ == 0 && end_ == storage_.size() && end_ >= max_size_; }

  void consume(std::size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  // Free space to receive into (invalidates views into data()). Empty only
  // when the buffer already holds max_size unread bytes.
  boost::asio::mutable_buffer prepare() {
    if (storage_.empty()) storage_.resize(initial_size_);
    if (end_ == storage_.size()) {
      if (begin_ > 0) {
        std::memmove(storage_.data(), storage_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      } else if (storage_.size() < max_size_) {
        storage_.resize(std::min(max_size_, storage_.size() * 2));
      }
    }
    return boost::asio::buffer(storage_.data() + end_, storage_.size() - end_);
  }
  void commit(std::size_t n) { end_ += n; }

 private:
  std::vector<char> storage_;
  std::size_t initial_size_;
  std::size_t max_size_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace weft::proxy
