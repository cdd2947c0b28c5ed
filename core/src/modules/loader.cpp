#include "modules/loader.hpp"

#include "log.hpp"
#include "modules/host_table.hpp"
#include "runtime/engine.hpp"
#include "runtime/ids.hpp"

#include <algorithm>
#include <dlfcn.h>
#include <filesystem>

namespace tandem {

ModuleLoader::ModuleLoader(Engine &engine) : engine_(engine) {}

ModuleLoader::~ModuleLoader() { unload_all(); }

void ModuleLoader::set_module_config(std::map<std::string, std::map<std::string, std::string>> config) {
    std::lock_guard lock(mutex_);
    module_config_ = std::move(config);
}

bool ModuleLoader::refuse(std::string &error, std::string message) {
    error = std::move(message);
    log::error("modules", "{}", error);
    return false;
}

std::string ModuleLoader::locate(const std::string &name) const {
    if (name.find('/') != std::string::npos)
        return std::filesystem::exists(name) ? name : std::string();
    for (auto &dir : search_path_) {
        auto candidate = std::filesystem::path(dir) / (name + ".so");
        if (std::filesystem::exists(candidate))
            return candidate.string();
    }
    return {};
}

std::shared_ptr<tandem_module> ModuleLoader::find(const std::string &name) const {
    std::lock_guard lock(mutex_);
    for (auto &m : loaded_)
        if (m->name == name)
            return m;
    return nullptr;
}

bool ModuleLoader::load(const std::string &name, std::string &error) {
    std::lock_guard lock(mutex_);
    std::vector<std::string> chain;
    return load_locked(name, chain, error);
}

int ModuleLoader::load_all(const std::vector<std::string> &names) {
    int failed = 0;
    for (auto &name : names) {
        std::string error;
        if (find(name))
            continue; // already pulled in as a dependency
        if (!load(name, error))
            ++failed;
    }
    return failed;
}

bool ModuleLoader::load_locked(const std::string &name, std::vector<std::string> &chain, std::string &error) {
    if (std::find(chain.begin(), chain.end(), name) != chain.end())
        return refuse(error, "module " + name + ": circular dependency (" + chain.front() + " ... " + name + ")");
    std::string path = locate(name);
    if (path.empty()) {
        std::string dirs;
        for (auto &d : search_path_)
            dirs += (dirs.empty() ? "" : ":") + d;
        return refuse(error, chain.empty() ? "module " + name + ": not found in " + dirs
                                           : "module " + chain.back() + " needs " + name +
                                                 ", which is not available (searched " + dirs + ")");
    }
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        return refuse(error, "module " + name + ": cannot load " + path + ": " + dlerror());
    auto entry = reinterpret_cast<tandem_module_entry_fn>(dlsym(handle, TANDEM_MODULE_ENTRY_SYMBOL));
    const tandem_module_desc *desc = entry ? entry() : nullptr;
    auto close_and_refuse = [&](std::string message) {
        dlclose(handle);
        return refuse(error, std::move(message));
    };
    if (!desc)
        return close_and_refuse("module " + name + ": " + path + " exports no " TANDEM_MODULE_ENTRY_SYMBOL);
    if (desc->struct_size < offsetof(tandem_module_desc, reload) + sizeof(void *) || !desc->name || !desc->load)
        return close_and_refuse("module " + name + ": malformed descriptor in " + path);
    if (desc->abi_major != TANDEM_ABI_MAJOR)
        return close_and_refuse("module " + std::string(desc->name) + ": built for ABI " +
                                 std::to_string(desc->abi_major) + "." + std::to_string(desc->abi_minor) +
                                 ", this engine speaks ABI " + std::to_string(TANDEM_ABI_MAJOR) + "." +
                                 std::to_string(TANDEM_ABI_MINOR) + "; rebuild it against this SDK");
    for (auto &m : loaded_)
        if (m->name == desc->name) // desc dies with dlclose: the message is built first
            return close_and_refuse("module " + m->name + " is already loaded (from " + m->path + ")");

    auto module = std::make_shared<tandem_module>();
    module->name = desc->name;
    module->path = path;
    module->version = desc->version ? desc->version : "";
    module->description = desc->description ? desc->description : "";
    module->handle = handle;
    module->desc = desc;
    if (desc->depends)
        for (const char *const *d = desc->depends; *d; ++d)
            module->depends.emplace_back(*d);
    if (auto it = module_config_.find(module->name); it != module_config_.end())
        module->config = it->second;

    chain.push_back(module->name);
    for (auto &dep : module->depends) {
        if (find(dep))
            continue;
        std::string dep_error;
        if (!load_locked(dep, chain, dep_error)) {
            dlclose(handle);
            error = "module " + module->name + " not loaded: " + dep_error;
            log::error("modules", "{}", error);
            return false;
        }
    }
    chain.pop_back();

    // Visible before load() so its registrations can name their owner.
    loaded_.push_back(module);
    module->loading = true;
    int rc = desc->load(module.get(), host_table());
    module->loading = false;
    if (rc != TANDEM_OK) {
        engine_.registry().remove_owner(module.get());
        for (auto id : module->subscriptions)
            engine_.events().unsubscribe(id);
        engine_.streams().close_owned_by(module->name);
        loaded_.pop_back();
        dlclose(handle);
        return refuse(error, "module " + module->name + ": load() failed with code " + std::to_string(rc));
    }
    module->loaded_at_us = ids::now_us();
    log::info("modules", "loaded {} {} from {}", module->name, module->version, path);
    engine_.events().publish(
        make_event(EventType::module).with("action", "load").with("module", module->name).with("path", path));
    return true;
}

bool ModuleLoader::unload(const std::string &name, std::string &error) {
    std::lock_guard lock(mutex_);
    return unload_locked(name, error);
}

bool ModuleLoader::unload_locked(const std::string &name, std::string &error) {
    auto it = std::find_if(loaded_.begin(), loaded_.end(), [&](auto &m) { return m->name == name; });
    if (it == loaded_.end())
        return refuse(error, "module " + name + " is not loaded");
    auto module = *it;
    std::vector<std::string> dependents;
    for (auto &m : loaded_)
        if (std::find(m->depends.begin(), m->depends.end(), name) != m->depends.end())
            dependents.push_back(m->name);
    if (!dependents.empty()) {
        std::string list;
        for (auto &d : dependents)
            list += (list.empty() ? "" : ", ") + d;
        return refuse(error, "module " + name + " is needed by " + list + "; unload those first");
    }
    // Only when nobody uses it, and nobody can start to.
    uint32_t idle = 0;
    if (!module->users.compare_exchange_strong(idle, tandem_module::kClosing))
        return refuse(error, "module " + name + " is in use by " + std::to_string(idle) +
                                 " call legs or operations; try again when they end");
    engine_.registry().remove_owner(module.get());
    for (auto id : module->subscriptions)
        engine_.events().unsubscribe(id);
    module->subscriptions.clear();
    // Subscribers may be running on the event thread right now.
    engine_.events().flush();
    if (module->desc->unload)
        module->desc->unload(module.get());
    engine_.streams().close_owned_by(name); // what unload() left open (ABI 1.3)
    loaded_.erase(it);
    if (module->handle)
        dlclose(module->handle);
    module->handle = nullptr;
    log::info("modules", "unloaded {}", name);
    engine_.events().publish(make_event(EventType::module).with("action", "unload").with("module", name));
    return true;
}

bool ModuleLoader::reload(const std::string &name, std::string &error) {
    std::lock_guard lock(mutex_);
    auto module = find(name);
    if (!module)
        return refuse(error, "module " + name + " is not loaded");
    if (module->desc->reload) {
        if (auto it = module_config_.find(name); it != module_config_.end())
            module->config = it->second;
        // reload() registers again from scratch, as load() did.
        engine_.registry().remove_owner(module.get());
        for (auto id : module->subscriptions)
            engine_.events().unsubscribe(id);
        module->subscriptions.clear();
        engine_.events().flush(); // no callback of the old registration still running
        module->loading = true;
        int rc = module->desc->reload(module.get());
        module->loading = false;
        if (rc != TANDEM_OK)
            return refuse(error, "module " + name + ": reload() failed with code " + std::to_string(rc) +
                                     "; it stays loaded with only what it registered before failing");
        log::info("modules", "reloaded {}", name);
        return true;
    }
    std::string path = module->path;
    if (!unload_locked(name, error))
        return false;
    std::vector<std::string> chain;
    return load_locked(path, chain, error);
}

void ModuleLoader::unload_all() {
    std::lock_guard lock(mutex_);
    // Reverse load order unloads dependents first.
    while (!loaded_.empty()) {
        auto module = loaded_.back();
        module->users.store(tandem_module::kClosing);
        engine_.registry().remove_owner(module.get());
        for (auto id : module->subscriptions)
            engine_.events().unsubscribe(id);
        if (module->desc->unload)
            module->desc->unload(module.get());
        loaded_.pop_back();
        if (module->handle)
            dlclose(module->handle);
        module->handle = nullptr;
    }
}

std::vector<ModuleInfo> ModuleLoader::list() const {
    std::lock_guard lock(mutex_);
    std::vector<ModuleInfo> out;
    for (auto &m : loaded_)
        out.push_back({m->name, m->path, m->version, m->description, m->depends,
                       m->users.load() & ~tandem_module::kClosing});
    return out;
}

} // namespace tandem
