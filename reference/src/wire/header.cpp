// The common 8-byte header (virtio-msg.md §2), read and written field by field.
#include "vmsg/wire/header.hpp"

#include "vmsg/common/le.hpp"

namespace vmsg::wire {

std::optional<Header> peek_header(std::span<const std::uint8_t> bytes) noexcept {
  if (bytes.size() < kHeaderSize) {
    return std::nullopt;
  }
  Header h;
  h.type = bytes[0];
  h.msg_id = bytes[1];
  h.dev_num = le::load16(bytes, 2);
  h.token = le::load16(bytes, 4);
  h.msg_size = le::load16(bytes, 6);
  return h;
}

void write_header(std::span<std::uint8_t> out, const Header& h) noexcept {
  out[0] = h.type;
  out[1] = h.msg_id;
  le::store16(out, 2, h.dev_num);
  le::store16(out, 4, h.token);
  le::store16(out, 6, h.msg_size);
}

}  // namespace vmsg::wire
