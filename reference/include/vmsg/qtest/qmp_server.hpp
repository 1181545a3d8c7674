// The QMP subset vmsg-ref-qtest answers (QEMU's monitor protocol, one JSON
// object per line): greeting, qmp_capabilities, query-status, balloon,
// block_resize, system_reset, quit; every other command is CommandNotFound.
// Pure text-in/text-out; the tool owns the socket.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "vmsg/qtest/json.hpp"

namespace vmsg::qtest {

/// An error answer of QMP: its `class` ("GenericError", "CommandNotFound",
/// "DeviceNotActive", ...) and human-readable `desc`. The server throws it
/// from backends; the client throws it when a command is answered so.
class QmpError : public std::runtime_error {
 public:
  QmpError(std::string cls, std::string desc)
      : std::runtime_error("QMP " + cls + ": " + desc), cls_(std::move(cls)), desc_(std::move(desc)) {}
  [[nodiscard]] const std::string& error_class() const noexcept { return cls_; }
  [[nodiscard]] const std::string& desc() const noexcept { return desc_; }

 private:
  std::string cls_;
  std::string desc_;
};

/// What the device-side commands do on the target. Each throws QmpError
/// (QEMU's class and wording where QEMU has one) when it cannot.
class QmpBackend {
 public:
  virtual ~QmpBackend() = default;
  /// `balloon value=BYTES`: the guest's new memory target (> 0).
  virtual void balloon(std::int64_t bytes) = 0;
  /// `block_resize`: the block node `node` gets `bytes` of capacity.
  virtual void block_resize(const std::string& node, std::int64_t bytes) = 0;
  /// `system_reset`.
  virtual void system_reset() = 0;
};

/// The QMP session of one connection, before and after negotiation.
class QmpServer {
 public:
  /// `backend` is not owned (must outlive the server); nullptr answers the
  /// device commands with GenericError.
  explicit QmpServer(QmpBackend* backend) : backend_(backend) {}

  /// The greeting line QEMU sends on connect (newline included).
  [[nodiscard]] std::string greeting() const;
  /// The reply line(s) to one input line (newline-terminated): the answer,
  /// plus the SHUTDOWN event after `quit`; nothing for a blank line
  /// (whitespace only), as QEMU.
  std::string handle(std::string_view line);
  /// True once `quit` has been answered: the tool exits then.
  [[nodiscard]] bool quit_requested() const noexcept { return quit_; }

 private:
  json::Value execute(const std::string& command, const json::Object& args);

  QmpBackend* backend_;
  bool negotiated_ = false;
  bool quit_ = false;
};

}  // namespace vmsg::qtest
