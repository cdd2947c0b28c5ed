#include "console/server.hpp"

#include "log.hpp"
#include "runtime/engine.hpp"
#include "runtime/events.hpp"
#include "runtime/reactor.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace tandem {

// Shared by the main thread (which owns the fd) and the event thread (which
// writes to it); `open` under the mutex decides who may still touch the fd.
struct ConsoleServer::EventStream {
    std::mutex mutex;
    int fd = -1;
    bool open = true;
    uint64_t subscription = 0;
    uint64_t dropped = 0;
};

ConsoleServer::ConsoleServer(Engine &engine) : engine_(engine) {}

ConsoleServer::~ConsoleServer() { close(); }

bool ConsoleServer::listen(const std::string &path, std::string &error) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        error = "control socket path too long (max " + std::to_string(sizeof addr.sun_path - 1) + "): " + path;
        return false;
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    // A socket file left by a dead instance is stale; a live one answers.
    if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0) {
        ::close(fd);
        error = "another instance is already serving " + path;
        return false;
    }
    ::unlink(path.c_str());
    mode_t old = ::umask(0077); // the console is as powerful as root on the engine
    int rc = ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    ::umask(old);
    if (rc < 0 || ::listen(fd, 64) < 0) {
        error = "control socket " + path + ": " + std::strerror(errno);
        ::close(fd);
        return false;
    }
    listen_fd_ = fd;
    path_ = path;
    return true;
}

void ConsoleServer::attach(Reactor &reactor) {
    reactor_ = &reactor;
    reactor.watch_fd(listen_fd_, EPOLLIN, [this](uint32_t) { on_accept(); });
}

void ConsoleServer::close() {
    if (listen_fd_ < 0)
        return;
    if (reactor_)
        reactor_->unwatch_fd(listen_fd_);
    while (!streams_.empty())
        stop_event_stream(streams_.begin()->first);
    for (auto &[fd, _] : pending_) {
        if (reactor_)
            reactor_->unwatch_fd(fd);
        ::close(fd);
    }
    pending_.clear();
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    listen_fd_ = -1;
}

void ConsoleServer::on_accept() {
    while (true) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        pending_[fd];
        reactor_->watch_fd(fd, EPOLLIN, [this, fd](uint32_t) { on_readable(fd); });
    }
}

void ConsoleServer::on_readable(int fd) {
    char buf[4096];
    std::string &in = pending_[fd];
    ssize_t n = ::read(fd, buf, sizeof buf);
    auto finish = [&] {
        reactor_->unwatch_fd(fd);
        pending_.erase(fd);
        ::close(fd);
    };
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        finish();
        return;
    }
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > 65536) {
        finish();
        return;
    }
    auto nl = in.find('\n');
    if (nl == std::string::npos)
        return;
    std::vector<std::string> args;
    std::string error;
    console::Reply reply;
    bool want_json = false;
    if (!console::decode_request(in.substr(0, nl), args, error, &want_json)) {
        reply = {false, error, nullptr};
    } else if (!args.empty() && args[0] == "events") {
        start_event_stream(fd, std::vector<std::string>(args.begin() + 1, args.end()));
        return;
    } else {
        reply = execute(args, want_json);
    }
    std::string out = console::encode_reply(reply);
    // Replies are small; a blocking write keeps this simple and bounded.
    size_t off = 0;
    int stalls = 0;
    while (off < out.size()) {
        ssize_t w = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (w < 0) {
            // A client that stops reading gets cut off after ~1 s, not the engine stalled.
            if (errno == EAGAIN && ++stalls < 1000) {
                usleep(1000);
                continue;
            }
            break;
        }
        off += static_cast<size_t>(w);
    }
    finish();
}

void ConsoleServer::start_event_stream(int fd, const std::vector<std::string> &types) {
    pending_.erase(fd);
    uint64_t mask = 0;
    bool unknown = false;
    for (auto &t : types) {
        uint64_t bit = 0;
        for (uint32_t i = 0; i < TANDEM_EVENT_TYPE_COUNT; ++i)
            if (t == event_type_name(static_cast<EventType>(i)))
                bit = uint64_t(1) << i;
        unknown |= bit == 0;
        mask |= bit;
    }
    if (unknown) {
        std::string out = console::encode_reply({false, "unknown event type; types: call_start call_end leg_state "
                                                        "dtmf bridge unbridge module dialplan custom",
                                                 nullptr});
        ssize_t rc = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        (void)rc;
        reactor_->unwatch_fd(fd);
        ::close(fd);
        return;
    }
    auto stream = std::make_shared<EventStream>();
    stream->fd = fd;
    std::string hello = console::encode_reply({true, "streaming events; Ctrl-C stops", nullptr});
    ssize_t rc = ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL);
    (void)rc;
    stream->subscription = engine_.events().subscribe(mask ? mask : TANDEM_EVENT_MASK_ALL, [stream](const Event &e) {
        nlohmann::json j = {{"type", e.name}, {"ts_us", e.timestamp_us}};
        if (!e.call_id.empty())
            j["call_id"] = e.call_id;
        if (!e.leg_id.empty())
            j["leg_id"] = e.leg_id;
        if (!e.linked_id.empty())
            j["linked_id"] = e.linked_id;
        for (auto &[k, v] : e.fields)
            j[k] = v;
        std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        std::lock_guard lock(stream->mutex);
        if (!stream->open)
            return;
        // Never block the event thread on a slow console: drop instead.
        if (::send(stream->fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            ++stream->dropped;
    });
    streams_[fd] = stream;
    // The client closing its end is how a stream ends.
    reactor_->watch_fd(fd, EPOLLIN | EPOLLRDHUP, [this, fd](uint32_t) {
        char buf[256];
        if (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0)
            stop_event_stream(fd);
    });
}

void ConsoleServer::stop_event_stream(int fd) {
    auto it = streams_.find(fd);
    if (it == streams_.end())
        return;
    auto stream = it->second;
    streams_.erase(it);
    engine_.events().unsubscribe(stream->subscription);
    if (reactor_)
        reactor_->unwatch_fd(fd);
    std::lock_guard lock(stream->mutex);
    stream->open = false;
    ::close(fd);
}

} // namespace tandem
