#include "vmsg/qtest/qmp_server.hpp"

#include <initializer_list>
#include <utility>

namespace vmsg::qtest {
namespace {

json::Value error_reply(const std::string& cls, const std::string& desc) {
  return json::Object{{"error", json::Object{{"class", cls}, {"desc", desc}}}};
}

/// Refuses arguments a command does not take, in QEMU's wording.
void only(const json::Object& args, std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : args) {
    bool ok = false;
    for (std::string_view n : known) ok = ok || k == n;
    if (!ok) throw QmpError("GenericError", "Parameter '" + k + "' is unexpected");
  }
}

const json::Value* member(const json::Object& args, std::string_view key) {
  const json::Value* hit = nullptr;
  for (const auto& [k, v] : args) {
    if (k == key) hit = &v;
  }
  return hit;
}

std::int64_t int_arg(const json::Object& args, std::string_view key) {
  const json::Value* v = member(args, key);
  if (v == nullptr) throw QmpError("GenericError", "Parameter '" + std::string(key) + "' is missing");
  const std::int64_t* i = v->as_int();
  if (i == nullptr) {
    throw QmpError("GenericError", "Invalid parameter type for '" + std::string(key) + "', expected: integer");
  }
  return *i;
}

const std::string* string_arg(const json::Object& args, std::string_view key) {
  const json::Value* v = member(args, key);
  if (v == nullptr) return nullptr;
  const std::string* s = v->as_string();
  if (s == nullptr) {
    throw QmpError("GenericError", "Invalid parameter type for '" + std::string(key) + "', expected: string");
  }
  return s;
}

}  // namespace

std::string QmpServer::greeting() const {
  const json::Value g = json::Object{
      {"QMP", json::Object{{"version", json::Object{{"qemu", json::Object{{"micro", 0}, {"minor", 0}, {"major", 0}}},
                                                    {"package", "vmsg-ref-qtest"}}},
                           {"capabilities", json::Array{}}}}};
  return json::dump(g) + "\n";
}

json::Value QmpServer::execute(const std::string& command, const json::Object& args) {
  if (command == "qmp_capabilities") {
    if (negotiated_) throw QmpError("CommandNotFound", "Capabilities negotiation is already complete, command ignored");
    only(args, {"enable"});
    negotiated_ = true;
    return json::Object{};
  }
  if (!negotiated_) throw QmpError("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
  if (command == "query-status") {
    only(args, {});
    // The qtest accelerator counts as running, as in QEMU.
    return json::Object{{"status", "running"}, {"singlestep", false}, {"running", true}};
  }
  if (command == "quit") {
    only(args, {});
    quit_ = true;
    return json::Object{};
  }
  const bool device_command = command == "balloon" || command == "block_resize" || command == "system_reset";
  if (!device_command) throw QmpError("CommandNotFound", "The command " + command + " has not been found");
  if (backend_ == nullptr) throw QmpError("GenericError", "this machine has no devices behind '" + command + "'");
  if (command == "balloon") {
    only(args, {"value"});
    const std::int64_t bytes = int_arg(args, "value");
    if (bytes <= 0) throw QmpError("GenericError", "Parameter 'target' expects a size");
    backend_->balloon(bytes);
  } else if (command == "block_resize") {
    only(args, {"device", "node-name", "size"});
    const std::string* device = string_arg(args, "device");
    const std::string* node = string_arg(args, "node-name");
    const std::int64_t size = int_arg(args, "size");
    if ((device == nullptr) == (node == nullptr)) {
      throw QmpError("GenericError", "Need exactly one of 'device' and 'node-name'");
    }
    if (size < 0) throw QmpError("GenericError", "Parameter 'size' expects a >0 size");
    backend_->block_resize(device != nullptr ? *device : *node, size);
  } else {
    only(args, {});
    backend_->system_reset();
  }
  return json::Object{};
}

std::string QmpServer::handle(std::string_view line) {
  // QEMU's JSON streamer skips whitespace between values: a blank line is no
  // command and gets no reply (an answer to it would be taken by the client
  // as the reply to its next command).
  if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  json::Value reply;
  const json::Value* id = nullptr;
  json::Value input;
  try {
    input = json::parse(line);
    const json::Object* obj = input.as_object();
    if (obj == nullptr) throw QmpError("GenericError", "QMP input must be a JSON object");
    id = input.find("id");
    // QEMU's qmp_dispatch_check_obj: no member besides these (no out-of-band capability here).
    for (const auto& [k, v] : *obj) {
      if (k != "execute" && k != "arguments" && k != "id") {
        throw QmpError("GenericError", "QMP input member '" + k + "' is unexpected");
      }
    }
    const json::Value* exec = input.find("execute");
    if (exec == nullptr) throw QmpError("GenericError", "QMP input lacks member 'execute'");
    const std::string* command = exec->as_string();
    if (command == nullptr) throw QmpError("GenericError", "QMP input member 'execute' must be a string");
    const json::Value* args = input.find("arguments");
    static const json::Object kNoArgs;
    const json::Object* arg_obj = args == nullptr ? &kNoArgs : args->as_object();
    if (arg_obj == nullptr) throw QmpError("GenericError", "QMP input member 'arguments' must be an object");
    reply = json::Object{{"return", execute(*command, *arg_obj)}};
  } catch (const json::ParseError& e) {
    reply = error_reply("GenericError", e.what());
  } catch (const QmpError& e) {
    reply = error_reply(e.error_class(), e.desc());
  } catch (const std::exception& e) {
    // A backend's own failure (e.g. a config error) is still a typed answer.
    reply = error_reply("GenericError", e.what());
  }
  if (id != nullptr) std::get<json::Object>(reply.v).emplace_back("id", *id);
  std::string out = json::dump(reply) + "\n";
  if (quit_) {
    out += json::dump(json::Object{{"timestamp", json::Object{{"seconds", 0}, {"microseconds", 0}}},
                                   {"event", "SHUTDOWN"},
                                   {"data", json::Object{{"guest", false}, {"reason", "host-qmp-quit"}}}}) +
           "\n";
  }
  return out;
}

}  // namespace vmsg::qtest
