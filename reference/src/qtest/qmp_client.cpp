#include "vmsg/qtest/qmp_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

namespace vmsg::qtest {

QmpClient::QmpClient(int fd, std::chrono::milliseconds timeout) : chan_(fd), timeout_(timeout) {
  if (fd < 0) throw QmpProtocolError("QMP: no socket");
  json::Value hello = read_message("the greeting");
  const json::Value* qmp = hello.find("QMP");
  if (qmp == nullptr || qmp->as_object() == nullptr) {
    throw QmpProtocolError("QMP: the first message is not a greeting: " + json::dump(hello));
  }
  greeting_ = *qmp;
  execute("qmp_capabilities");
}

QmpClient QmpClient::connect(const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) throw QmpProtocolError("QMP: socket path too long: " + path);
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw QmpProtocolError(std::string("QMP: socket: ") + std::strerror(errno));
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes a sockaddr*
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) == 0) return QmpClient(fd, timeout);
    const int e = errno;
    ::close(fd);
    if ((e != ENOENT && e != ECONNREFUSED) || std::chrono::steady_clock::now() >= deadline) {
      throw QmpProtocolError("QMP: cannot connect to " + path + ": " + std::strerror(e));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

json::Value QmpClient::read_message(std::string_view waiting_for) {
  for (;;) {
    auto line = chan_.read_line(timeout_);
    if (!line) throw QmpProtocolError("QMP: waiting for " + std::string(waiting_for) + ": " + chan_.failure_text());
    if (line->find_first_not_of(" \t") == std::string::npos) continue;
    json::Value msg;
    try {
      msg = json::parse(*line);
    } catch (const json::ParseError& e) {
      throw QmpProtocolError("QMP: waiting for " + std::string(waiting_for) + ": " + e.what());
    }
    if (msg.as_object() == nullptr) throw QmpProtocolError("QMP: a message that is not an object: " + *line);
    if (msg.find("event") != nullptr) {
      ++events_;
      continue;
    }
    return msg;
  }
}

json::Value QmpClient::execute(std::string_view command, json::Object args) {
  const std::int64_t id = next_id_++;
  json::Object req{{"execute", std::string(command)}};
  if (!args.empty()) req.emplace_back("arguments", std::move(args));
  req.emplace_back("id", id);
  if (!chan_.write_all(json::dump(req) + "\n")) {
    throw QmpProtocolError("QMP: sending " + std::string(command) + ": " + chan_.failure_text());
  }
  json::Value reply = read_message(command);
  const json::Value* rid = reply.find("id");
  if (rid == nullptr || rid->as_int() == nullptr || *rid->as_int() != id) {
    throw QmpProtocolError("QMP: " + std::string(command) + " got a reply to another command: " + json::dump(reply));
  }
  if (const json::Value* ret = reply.find("return")) return *ret;
  if (const json::Value* err = reply.find("error")) {
    const json::Value* cls = err->find("class");
    const json::Value* desc = err->find("desc");
    if (cls == nullptr || cls->as_string() == nullptr || desc == nullptr || desc->as_string() == nullptr) {
      throw QmpProtocolError("QMP: malformed error reply: " + json::dump(reply));
    }
    throw QmpError(*cls->as_string(), *desc->as_string());
  }
  throw QmpProtocolError("QMP: " + std::string(command) + ": reply has neither return nor error: " + json::dump(reply));
}

}  // namespace vmsg::qtest
