#pragma once
// Everything modules (and the core's built-ins) register, by name.
// Readers — workers on the call path — take an immutable snapshot with one
// atomic load and no lock; writers (module load/unload, rare) copy, change
// and publish a new snapshot under a writer-only mutex.
#include "media/codecs.hpp"
#include "tandem/module.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

struct tandem_module; // modules/loader.hpp defines it

namespace tandem {

// A use of a module: while one is held the module cannot unload.
class ModuleUse {
public:
    ModuleUse() = default;
    // Acquires; empty (false) when the module is unloading. nullptr = built-in.
    static ModuleUse acquire(tandem_module *module);
    ModuleUse(ModuleUse &&other) noexcept : module_(std::exchange(other.module_, nullptr)), ok_(other.ok_) {}
    ModuleUse &operator=(ModuleUse &&other) noexcept;
    ~ModuleUse() { release(); }
    explicit operator bool() const { return ok_; }
    tandem_module *module() const { return module_; }

private:
    void release();
    tandem_module *module_ = nullptr;
    bool ok_ = false;
};

template <typename T> struct Registered {
    const T *desc = nullptr;
    std::shared_ptr<tandem_module> owner; // null for the core's built-ins
};

struct RegistrySnapshot {
    std::map<std::string, Registered<tandem_channel_driver>, std::less<>> channels;
    std::map<std::string, Registered<tandem_function>, std::less<>> functions;
    std::vector<Registered<tandem_codec>> codecs;
    std::vector<Registered<tandem_file_format>> file_formats;
    std::vector<Registered<tandem_cdr_sink>> cdr_sinks;
    std::map<std::string, Registered<tandem_console_command>, std::less<>> commands;

    media::CodecList codec_list() const;
    std::vector<const tandem_file_format *> file_format_list() const;
};

class Registry {
public:
    Registry();
    std::shared_ptr<const RegistrySnapshot> snapshot() const { return current_.load(std::memory_order_acquire); }

    // Names clash per kind: TANDEM_EEXIST. Reserved names (the Lua call
    // methods and built-in console commands) are refused the same way.
    int add_channel(std::shared_ptr<tandem_module> owner, const tandem_channel_driver *desc);
    int add_function(std::shared_ptr<tandem_module> owner, const tandem_function *desc);
    int add_codec(std::shared_ptr<tandem_module> owner, const tandem_codec *desc);
    int add_file_format(std::shared_ptr<tandem_module> owner, const tandem_file_format *desc);
    int add_cdr_sink(std::shared_ptr<tandem_module> owner, const tandem_cdr_sink *desc);
    int add_command(std::shared_ptr<tandem_module> owner, const tandem_console_command *desc);
    void reserve_function_names(std::vector<std::string> names);
    void reserve_command_names(std::vector<std::string> names);

    // Drops everything `owner` registered.
    void remove_owner(const tandem_module *owner);

private:
    template <typename Mutate> int update(Mutate &&mutate);
    std::mutex writer_mutex_;
    std::atomic<std::shared_ptr<const RegistrySnapshot>> current_;
    std::vector<std::string> reserved_functions_, reserved_commands_;
};

} // namespace tandem
