// A port decorator for the equivalence tests: forwards every call and records
// it with what came back, so two targets driven the same way can be compared
// call by call.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "vmsg/port/port.hpp"

namespace vmsg::dut::test {

class RecordingPort final : public port::Port {
 public:
  explicit RecordingPort(port::Port& inner) : inner_(inner) {}

  std::uint32_t config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) override {
    const std::uint32_t v = inner_.config_read(fn, offset, size);
    add("cr", fn.device, offset, size, v);
    return v;
  }
  void config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) override {
    inner_.config_write(fn, offset, size, value);
    add("cw", fn.device, offset, size, value);
  }
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    const std::uint64_t v = inner_.mmio_read(addr, size);
    add("mr", 0, addr, size, v);
    return v;
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override {
    inner_.mmio_write(addr, size, value);
    add("mw", 0, addr, size, value);
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    inner_.mem_read(addr, out);
    add_bytes("br", addr, out);
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    inner_.mem_write(addr, data);
    add_bytes("bw", addr, data);
  }
  void advance_time(std::uint64_t ns) override {
    inner_.advance_time(ns);
    add("t", 0, ns, 0, 0);
  }
  [[nodiscard]] port::AddressMap address_map() const override { return inner_.address_map(); }

  [[nodiscard]] const std::vector<std::string>& log() const noexcept { return log_; }

 private:
  void add(const char* op, unsigned dev, std::uint64_t a, unsigned size, std::uint64_t v) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s %u 0x%llx/%u = 0x%llx", op, dev, static_cast<unsigned long long>(a), size,
                  static_cast<unsigned long long>(v));
    log_.emplace_back(buf);
  }
  void add_bytes(const char* op, std::uint64_t addr, std::span<const std::uint8_t> data) {
    std::string s = std::string(op) + " 0x";
    char buf[24];
    std::snprintf(buf, sizeof buf, "%llx:", static_cast<unsigned long long>(addr));
    s += buf;
    for (std::uint8_t b : data) {
      std::snprintf(buf, sizeof buf, "%02x", unsigned{b});
      s += buf;
    }
    log_.push_back(std::move(s));
  }

  port::Port& inner_;
  std::vector<std::string> log_;
};

}  // namespace vmsg::dut::test
