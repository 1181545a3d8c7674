// Exception types used at the edges (construction and target I/O). The pure
// cores (codec, ring, state machines) return typed results instead.
#pragma once

#include <stdexcept>
#include <string>

namespace vmsg {

/// A model was asked to build something it cannot (e.g. num_fifos = 3).
class ConfigError : public std::invalid_argument {
 public:
  explicit ConfigError(const std::string& what) : std::invalid_argument(what) {}
};

/// A snapshot cannot be taken (an object cannot save its state) or does not
/// fit where it is restored (another target, another object, another type).
/// A ConfigError, so callers that handle bad configuration handle it too;
/// the target is left untouched when it is thrown.
class SnapshotError : public ConfigError {
 public:
  explicit SnapshotError(const std::string& what) : ConfigError(what) {}
};

/// A port could not carry out an access (bad width, target gone, timeout).
class PortError : public std::runtime_error {
 public:
  explicit PortError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace vmsg
