// The queue module's shared state: the host, the ACD's thread and the
// settings it was last given (console commands read contacts and skills
// from them).
#pragma once

#include "acd_service.hpp"
#include "queue_settings.hpp"
#include "tandem/module.h"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tandem::queue {

struct Module {
    const tandem_host *host = nullptr;
    tandem_module *self = nullptr;
    std::unique_ptr<AcdService> service;
    std::mutex settings_lock; // settings: replaced by reload (main thread), read by the console
    Settings settings;
};

extern Module module;

// From the settings last applied (any thread; takes settings_lock): an
// agent's contacts (none for an unknown agent), and what a queue's callers
// hear and may do (nullopt for an unknown queue).
std::vector<std::string> agent_contacts(const std::string &agent);
std::optional<CallerExperience> queue_experience(const std::string &queue);

int register_console_commands(); // load() and reload()
int register_functions();        // load() and reload(): the dialplan's agent_* functions
int register_queue_function();   // load() and reload(): call:queue()

} // namespace tandem::queue
