#pragma once
// A real engine in-process for tests: its own temp directory, config and
// dialplan, real workers and modules; run() on a background thread.
#include "runtime/engine.hpp"
#include "runtime/events.hpp"

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tandem::test {

std::string make_temp_dir();
void write_file(const std::string &path, const std::string &text);

class EngineFixture {
public:
    // `dialplan` is the dialplan file's text; `config_extra` is spliced into
    // the returned config table (e.g. "limits = { instructions = 100000 },").
    explicit EngineFixture(const std::string &dialplan, const std::string &config_extra = "", int workers = 2,
                           std::vector<std::string> module_dirs = {});
    ~EngineFixture();

    Engine &engine() { return *engine_; }
    const std::string &dir() const { return dir_; }
    std::string dialplan_path() const { return dir_ + "/dialplan.lua"; }

    // Originates DEST, running EXTEN@CONTEXT when it answers; returns the call id.
    std::string originate(const std::string &dest, const std::string &exten, const std::string &context = "test",
                          std::map<std::string, std::string> vars = {});
    // Waits for call_end of `call_id`; returns its CDR JSON ("" on timeout).
    std::string wait_call_end(const std::string &call_id, int timeout_ms = 5000);
    // The same for another call of the interaction `linked_id` that entered
    // the dialplan at `exten` (the far half of a local channel it dialled).
    std::string wait_linked_call_end(const std::string &linked_id, const std::string &exten,
                                     int timeout_ms = 5000);
    // All events seen so far of a type.
    std::vector<Event> events_of(EventType type);
    // Waits for an event that makes pred true (pred runs under the event lock).
    bool wait_until(const std::function<bool()> &pred, int timeout_ms = 5000);
    // Polls any condition every 10 ms.
    static bool poll_until(const std::function<bool()> &pred, int timeout_ms = 5000);
    std::string console(const std::vector<std::string> &args, bool *ok = nullptr);

private:
    std::string dir_;
    std::unique_ptr<Engine> engine_;
    std::thread runner_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<Event> events_;
};

} // namespace tandem::test
