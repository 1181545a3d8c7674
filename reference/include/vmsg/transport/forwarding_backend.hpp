// A Backend that hands every call to another backend, for wrappers that
// change one or two answers (a smaller queue maximum in a test) or add
// bookkeeping around the calls (sharing a backend with Python).
#pragma once

#include <memory>
#include <span>
#include <utility>

#include "vmsg/common/errors.hpp"
#include "vmsg/transport/backend.hpp"

namespace vmsg::transport {

/// Forwards each Backend call to `inner`; derive and override what differs.
class ForwardingBackend : public Backend {
 public:
  /// Throws vmsg::ConfigError for a null `inner`.
  explicit ForwardingBackend(std::shared_ptr<Backend> inner) : inner_(std::move(inner)) {
    if (!inner_) throw ConfigError("forwarding backend: no backend to forward to");
  }

  [[nodiscard]] const std::shared_ptr<Backend>& inner() const noexcept { return inner_; }

  void bind(DeviceContext& ctx) override { inner_->bind(ctx); }
  [[nodiscard]] std::uint32_t device_id() const override { return inner_->device_id(); }
  [[nodiscard]] std::uint64_t device_features() const override { return inner_->device_features(); }
  [[nodiscard]] bool accept_features(std::uint64_t f) override { return inner_->accept_features(f); }
  [[nodiscard]] unsigned num_queues() const override { return inner_->num_queues(); }
  [[nodiscard]] std::uint32_t max_queue_size(unsigned q) const override { return inner_->max_queue_size(q); }
  [[nodiscard]] std::uint32_t config_size() const override { return inner_->config_size(); }
  void read_config(std::uint32_t offset, std::span<std::uint8_t> out) const override {
    inner_->read_config(offset, out);
  }
  [[nodiscard]] bool write_config(std::uint32_t offset, std::span<const std::uint8_t> data) override {
    return inner_->write_config(offset, data);
  }
  void reset() override { inner_->reset(); }
  void queue_reset(unsigned q) override { inner_->queue_reset(q); }
  [[nodiscard]] virtqueue::Status process(unsigned q, virtqueue::SplitQueue& queue) override {
    return inner_->process(q, queue);
  }
  void advance_time(std::uint64_t ns) override { inner_->advance_time(ns); }
  [[nodiscard]] std::uint64_t poll_window_ns() const override { return inner_->poll_window_ns(); }
  /// The inner backend's state: a wrapper that adds state of its own must
  /// override both.
  [[nodiscard]] snapshot::Handle save_state() const override { return inner_->save_state(); }
  void restore_state(const snapshot::Handle& state) override { inner_->restore_state(state); }

 private:
  std::shared_ptr<Backend> inner_;
};

}  // namespace vmsg::transport
