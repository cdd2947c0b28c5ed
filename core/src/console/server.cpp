#include "console/server.hpp"

#include "log.hpp"
#include "runtime/engine.hpp"
#include "runtime/reactor.hpp"

#include <cerrno>
#include <cstring>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace tandem {

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
    if (!console::decode_request(in.substr(0, nl), args, error))
        reply = {false, error, nullptr};
    else
        reply = execute(args);
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

} // namespace tandem
