#include "engine_fixture.hpp"

#include "console/server.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

namespace tandem::test {

namespace {
// Temp dirs made by tests are removed when the test process exits.
struct TempDirs {
    std::mutex mutex;
    std::vector<std::string> dirs;
    ~TempDirs() {
        std::error_code ec;
        for (auto &d : dirs)
            std::filesystem::remove_all(d, ec);
    }
};
TempDirs g_temp_dirs;
} // namespace

std::string make_temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tandem-test-XXXXXX").string();
    char *dir = mkdtemp(tmpl.data());
    REQUIRE(dir != nullptr);
    std::lock_guard lock(g_temp_dirs.mutex);
    g_temp_dirs.dirs.push_back(dir);
    return dir;
}

void write_file(const std::string &path, const std::string &text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    REQUIRE(out.good());
}

EngineFixture::EngineFixture(const std::string &dialplan, const std::string &config_extra, int workers,
                             std::vector<std::string> module_dirs) {
    dir_ = make_temp_dir();
    write_file(dialplan_path(), dialplan);
    write_file(dir_ + "/tandem.lua", "return { instance = 'test', modules = { 'local' }, workers = " +
                                         std::to_string(workers) + ", shutdown_grace = 1, " + config_extra + " }\n");
    ConfigOverrides o;
    o.data_dir = dir_ + "/data";
    o.module_dirs = std::move(module_dirs);
    o.module_dirs.push_back(TANDEM_BUILD_MODULE_DIR);
    std::vector<std::string> errors;
    auto config = load_config(dir_ + "/tandem.lua", o, errors);
    INFO((errors.empty() ? "" : errors.front()));
    REQUIRE(config);
    engine_ = std::make_unique<Engine>(std::move(*config));
    engine_->events().subscribe(TANDEM_EVENT_MASK_ALL, [this](const Event &e) {
        std::lock_guard lock(mutex_);
        events_.push_back(e);
        cv_.notify_all();
    });
    INFO((errors.empty() ? "" : errors.front()));
    REQUIRE(engine_->start(errors));
    runner_ = std::thread([this] { engine_->run(); });
}

EngineFixture::~EngineFixture() {
    engine_->request_shutdown();
    runner_.join();
    engine_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::string EngineFixture::originate(const std::string &dest, const std::string &exten, const std::string &context,
                                     std::map<std::string, std::string> vars) {
    std::string error;
    std::string id = engine_->originate(dest, exten, context, vars, error);
    INFO(error);
    REQUIRE(!id.empty());
    return id;
}

std::string EngineFixture::wait_call_end(const std::string &call_id, int timeout_ms) {
    std::string cdr;
    wait_until(
        [&] {
            for (auto &e : events_)
                if (e.type == EventType::call_end && e.call_id == call_id) {
                    cdr = *e.field("cdr");
                    return true;
                }
            return false;
        },
        timeout_ms);
    return cdr;
}

bool EngineFixture::wait_until(const std::function<bool()> &pred, int timeout_ms) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), pred);
}

std::string EngineFixture::wait_linked_call_end(const std::string &linked_id, const std::string &exten,
                                               int timeout_ms) {
    std::string cdr;
    wait_until(
        [&] {
            for (auto &e : events_)
                if (e.type == EventType::call_end && e.linked_id == linked_id && e.call_id != linked_id &&
                    nlohmann::json::parse(*e.field("cdr")).value("exten", "") == exten) {
                    cdr = *e.field("cdr");
                    return true;
                }
            return false;
        },
        timeout_ms);
    return cdr;
}

bool EngineFixture::poll_until(const std::function<bool()> &pred, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
}

std::vector<Event> EngineFixture::events_of(EventType type) {
    std::lock_guard lock(mutex_);
    std::vector<Event> out;
    for (auto &e : events_)
        if (e.type == type)
            out.push_back(e);
    return out;
}

std::string EngineFixture::console(const std::vector<std::string> &args, bool *ok) {
    // The console runs on the main reactor; execute there as the socket would.
    auto promise = std::make_shared<std::promise<console::Reply>>();
    auto future = promise->get_future();
    ConsoleServer server(*engine_);
    engine_->main_reactor().post([&server, args, promise] { promise->set_value(server.execute(args)); });
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto reply = future.get();
    if (ok)
        *ok = reply.ok;
    return reply.text;
}

} // namespace tandem::test
