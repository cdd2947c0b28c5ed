#include "console/client.hpp"

#include "console/protocol.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace tandem::console {

namespace {
// Prints events until the engine goes away (or the user interrupts).
int stream_events(int fd, bool json_output) {
    std::string pending;
    char buf[8192];
    bool first = true;
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        pending.append(buf, static_cast<size_t>(n));
        size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
            std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            if (first) { // the engine's reply to the request
                first = false;
                Reply reply;
                std::string error;
                if (!decode_reply(line, reply, error) || !reply.ok) {
                    std::fprintf(stderr, "tandem ctl: %s\n", reply.text.c_str());
                    ::close(fd);
                    return 1;
                }
                continue;
            }
            if (json_output) {
                std::printf("%s\n", line.c_str());
            } else {
                auto j = nlohmann::json::parse(line, nullptr, false);
                if (j.is_discarded())
                    continue;
                std::string text = j.value("type", "?");
                for (auto &[k, v] : j.items())
                    if (k != "type" && k != "ts_us" && k != "cdr")
                        text += " " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
                std::printf("%s\n", text.c_str());
            }
            std::fflush(stdout);
        }
    }
    ::close(fd);
    return 0;
}
} // namespace

int run_client(const std::string &socket_path, const std::vector<std::string> &args, bool json_output) {
    sockaddr_un addr{};
    if (socket_path.size() >= sizeof addr.sun_path) {
        std::fprintf(stderr, "tandem ctl: socket path too long: %s\n", socket_path.c_str());
        return 2;
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0) {
        std::fprintf(stderr, "tandem ctl: cannot reach the engine at %s: %s\n", socket_path.c_str(),
                     std::strerror(errno));
        ::close(fd);
        return 2;
    }
    bool streaming = !args.empty() && args[0] == "events";
    if (!streaming) {
        timeval tv{10, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    std::string request = encode_request(args, json_output);
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        std::fprintf(stderr, "tandem ctl: send failed: %s\n", std::strerror(errno));
        ::close(fd);
        return 2;
    }
    std::string line;
    char buf[8192];
    ssize_t n;
    if (streaming)
        return stream_events(fd, json_output);
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        line.append(buf, static_cast<size_t>(n));
    ::close(fd);
    Reply reply;
    std::string error;
    if (!decode_reply(line, reply, error)) {
        std::fprintf(stderr, "tandem ctl: %s\n", line.empty() ? "no reply from the engine" : error.c_str());
        return 2;
    }
    if (json_output) {
        nlohmann::json j = {{"ok", reply.ok}};
        j["data"] = reply.data.is_null() ? nlohmann::json(reply.text) : reply.data;
        std::printf("%s\n", j.dump(2).c_str());
    } else {
        std::fprintf(reply.ok ? stdout : stderr, "%s\n", reply.text.c_str());
    }
    return reply.ok ? 0 : 1;
}

} // namespace tandem::console
