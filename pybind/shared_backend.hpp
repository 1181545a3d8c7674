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
#include <utility>

#include "vmsg/common/errors.hpp"
#include "vmsg/transport/backend.hpp"
#include "vmsg/transport/forwarding_backend.hpp"

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
  void driver_rule(std::string_view rule, std::string_view kind, std::string_view detail) override {
    if (ctx_ != nullptr) ctx_->driver_rule(rule, kind, detail);
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
/// to the shared backend, bound to its proxy rather than to the transport.
class SharedBackend final : public transport::ForwardingBackend {
 public:
  explicit SharedBackend(std::shared_ptr<transport::Backend> inner) : ForwardingBackend(present(std::move(inner))) {
    const ProxyDeleter* d = std::get_deleter<ProxyDeleter>(this->inner());
    if (d == nullptr) throw ConfigError("DeviceTransport: backend was not built for sharing");
    proxy_ = d->proxy;
    if (proxy_->connected()) throw ConfigError("DeviceTransport: backend already belongs to another transport");
  }
  ~SharedBackend() override { proxy_->connect(nullptr); }
  SharedBackend(const SharedBackend&) = delete;
  SharedBackend& operator=(const SharedBackend&) = delete;

  void bind(transport::DeviceContext& ctx) override {
    proxy_->connect(&ctx);
    inner()->bind(*proxy_);
  }
  /// The transport as its backend sees it (through the proxy): what a
  /// device-side change calls.
  [[nodiscard]] transport::DeviceContext& context() noexcept { return *proxy_; }

 private:
  /// Python's None arrives as a null pointer: say so in Python's terms.
  static std::shared_ptr<transport::Backend> present(std::shared_ptr<transport::Backend> b) {
    if (!b) throw ConfigError("DeviceTransport: backend is None");
    return b;
  }
  std::shared_ptr<ContextProxy> proxy_;
};

}  // namespace vmsg::pyb
