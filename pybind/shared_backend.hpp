// Sharing a Backend between a DeviceTransport and Python.
//
// DeviceTransport owns its backend through a unique_ptr, but Python keeps a
// handle on the backend too (to read counters or move the balloon target).
// Backends made for Python carry a ContextProxy in their shared_ptr deleter;
// the transport owns a SharedBackend that forwards to the shared backend and
// binds it to the proxy instead of to the transport. When the transport dies
// the proxy forgets it, so a backend that outlives its transport is inert
// instead of calling into freed memory.
#pragma once

#include <memory>
#include <span>

#include "vmsg/common/errors.hpp"
#include "vmsg/transport/backend.hpp"

namespace vmsg::pyb {

/// The DeviceContext a shared backend is bound to: forwards to the current
/// transport while there is one, does nothing once it is gone.
class ContextProxy final : public transport::DeviceContext {
 public:
  void connect(transport::DeviceContext* ctx) noexcept { ctx_ = ctx; }
  [[nodiscard]] bool connected() const noexcept { return ctx_ != nullptr; }

  pci::DmaSpace& memory() override { return ctx_ != nullptr ? ctx_->memory() : no_memory_; }
  void config_changed(std::uint32_t offset, std::uint32_t length) override {
    if (ctx_ != nullptr) ctx_->config_changed(offset, length);
  }
  void needs_reset() override {
    if (ctx_ != nullptr) ctx_->needs_reset();
  }
  void used(unsigned q) override {
    if (ctx_ != nullptr) ctx_->used(q);
  }
  [[nodiscard]] bool driver_ok() const override { return ctx_ != nullptr && ctx_->driver_ok(); }
  [[nodiscard]] virtqueue::SplitQueue* queue(unsigned q) override {
    return ctx_ != nullptr ? ctx_->queue(q) : nullptr;
  }

 private:
  /// Guest memory with no transport behind: every access fails.
  class NoMemory final : public pci::DmaSpace {
   public:
    bool dma_read(std::uint64_t, std::span<std::uint8_t>) override { return false; }
    bool dma_write(std::uint64_t, std::span<const std::uint8_t>) override { return false; }
    bool msi_write(std::uint64_t, std::uint32_t) override { return false; }
  };
  transport::DeviceContext* ctx_ = nullptr;
  NoMemory no_memory_;
};

/// Deleter of a backend shared with Python; carries the backend's proxy.
struct ProxyDeleter {
  std::shared_ptr<ContextProxy> proxy = std::make_shared<ContextProxy>();
  void operator()(transport::Backend* b) const noexcept { delete b; }
};

/// Wraps a freshly built backend for sharing with Python.
template <typename B>
std::shared_ptr<B> share_backend(std::unique_ptr<B> b) {
  return std::shared_ptr<B>(b.release(), ProxyDeleter{});
}

/// What a DeviceTransport built from Python owns: forwards every Backend call
/// to the shared backend.
class SharedBackend final : public transport::Backend {
 public:
  explicit SharedBackend(std::shared_ptr<transport::Backend> inner) : inner_(std::move(inner)) {
    if (!inner_) throw ConfigError("DeviceTransport: backend is None");
    const ProxyDeleter* d = std::get_deleter<ProxyDeleter>(inner_);
    if (d == nullptr) throw ConfigError("DeviceTransport: backend was not built for sharing");
    proxy_ = d->proxy;
    if (proxy_->connected()) throw ConfigError("DeviceTransport: backend already belongs to another transport");
  }
  ~SharedBackend() override { proxy_->connect(nullptr); }
  SharedBackend(const SharedBackend&) = delete;
  SharedBackend& operator=(const SharedBackend&) = delete;

  [[nodiscard]] const std::shared_ptr<transport::Backend>& inner() const noexcept { return inner_; }

  void bind(transport::DeviceContext& ctx) override {
    proxy_->connect(&ctx);
    inner_->bind(*proxy_);
  }
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

 private:
  std::shared_ptr<transport::Backend> inner_;
  std::shared_ptr<ContextProxy> proxy_;
};

}  // namespace vmsg::pyb
