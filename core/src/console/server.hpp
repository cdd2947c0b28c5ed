#pragma once
// The control socket (`tandem ctl`): a UNIX stream socket served on the
// main thread's reactor. One request per connection; commands that need a
// worker's data post to it and wait (bounded) for the answer.
#include "console/protocol.hpp"
#include "tandem/module.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tandem {

class Engine;
class Reactor;

class ConsoleServer {
public:
    explicit ConsoleServer(Engine &engine);
    ~ConsoleServer();

    bool listen(const std::string &path, std::string &error);
    void attach(Reactor &reactor);
    void close();

    // Runs one command (also used by tests without a socket). `json`: the
    // client wants structured output; module commands then get "--json".
    console::Reply execute(const std::vector<std::string> &args, bool json = false);

    static std::vector<std::string> builtin_command_names();
    // For modules' console commands (host->console_print).
    static void print(tandem_console_out *out, const char *text);
    static bool wants_json(const tandem_console_out *out);

private:
    void on_accept();
    void on_readable(int fd);
    // `events`: the connection stays open and receives every event as a
    // JSON line (the console is one more event-bus subscriber).
    void start_event_stream(int fd, const std::vector<std::string> &types);
    void stop_event_stream(int fd);
    struct EventStream;

    Engine &engine_;
    Reactor *reactor_ = nullptr;
    int listen_fd_ = -1;
    std::string path_;
    std::map<int, std::string> pending_; // fd -> bytes read so far
    std::map<int, std::shared_ptr<EventStream>> streams_;
};

} // namespace tandem
