#pragma once
// Loads modules (shared libraries exporting tandem_module_entry) in
// dependency order, and unloads them only when nothing uses them.
#include "modules/registry.hpp"
#include "tandem/module.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

// The engine's side of a module handle (opaque to modules).
struct tandem_module {
    std::string name;
    std::string path;
    std::string version;
    std::string description;
    std::vector<std::string> depends;
    void *handle = nullptr; // dlopen handle; null for built-ins
    const tandem_module_desc *desc = nullptr;
    std::map<std::string, std::string> config; // its table from tandem.lua
    std::vector<uint64_t> subscriptions;       // event bus ids to drop on unload
    uint64_t loaded_at_us = 0;

    // Users (legs of its channels, running invocations) in the low bits; the
    // top bit is set once unloading began, after which acquire() fails.
    static constexpr uint32_t kClosing = 0x80000000u;
    std::atomic<uint32_t> users{0};
    bool loading = false; // registration allowed only while true
};

namespace tandem {

class Engine;

struct ModuleInfo {
    std::string name, path, version, description;
    std::vector<std::string> depends;
    uint32_t users = 0;
};

class ModuleLoader {
public:
    explicit ModuleLoader(Engine &engine);
    ~ModuleLoader();

    void set_search_path(std::vector<std::string> dirs) { search_path_ = std::move(dirs); }
    void set_module_config(std::map<std::string, std::map<std::string, std::string>> config);

    // Loads `name` (a module name looked up as NAME.so in the search path, or
    // a path to a .so) and its dependencies first. On refusal returns false
    // and fills `error` with the one line that was also logged.
    bool load(const std::string &name, std::string &error);
    // Loads each; a failure is logged and the rest still load. Returns the
    // number that failed.
    int load_all(const std::vector<std::string> &names);
    bool unload(const std::string &name, std::string &error);
    bool reload(const std::string &name, std::string &error);
    // Unloads everything in reverse dependency order (at shutdown).
    void unload_all();

    std::vector<ModuleInfo> list() const;
    std::shared_ptr<tandem_module> find(const std::string &name) const;

private:
    bool load_locked(const std::string &name, std::vector<std::string> &chain, std::string &error);
    bool unload_locked(const std::string &name, std::string &error);
    std::string locate(const std::string &name) const;
    bool refuse(std::string &error, std::string message);

    Engine &engine_;
    std::vector<std::string> search_path_;
    std::map<std::string, std::map<std::string, std::string>> module_config_;
    mutable std::recursive_mutex mutex_;
    std::vector<std::shared_ptr<tandem_module>> loaded_; // in load order
};

} // namespace tandem
