// Queues and ACD (issue 5): see docs/queues.md.
#include "queue_callback.hpp"
#include "queue_module.hpp"

#include <string>

namespace tandem::queue {

Module module;

std::vector<std::string> agent_contacts(const std::string &agent) {
    std::lock_guard<std::mutex> hold(module.settings_lock);
    const AgentSpec *spec = module.settings.agent(agent);
    return spec ? spec->contacts : std::vector<std::string>{};
}

std::optional<CallerExperience> queue_experience(const std::string &queue) {
    std::lock_guard<std::mutex> hold(module.settings_lock);
    const QueueSpec *spec = module.settings.queue(queue);
    return spec ? std::optional<CallerExperience>(spec->caller) : std::nullopt;
}

namespace {

int configure() {
    Settings settings;
    std::vector<std::string> errors;
    auto get = [](const std::string &key) { return module.host->config_get(module.self, key.c_str()); };
    if (!read_settings(get, settings, errors)) {
        for (const std::string &e : errors) module.host->log(module.self, TANDEM_LOG_ERROR, nullptr, "queue: %s", e.c_str());
        return TANDEM_EINVAL;
    }
    if (!module.service) module.service = std::make_unique<AcdService>(module.host, module.self);
    module.service->apply(settings);
    module.service->set_stats_interval(settings.stats_interval_s);
    module.host->log(module.self, TANDEM_LOG_INFO, nullptr, "queue: %zu queue(s), %zu agent(s)", settings.queues.size(),
                     settings.agents.size());
    std::lock_guard<std::mutex> hold(module.settings_lock);
    module.settings = std::move(settings);
    return TANDEM_OK;
}

bool abi_ok(const tandem_host *host) {
    return host->struct_size >= offsetof(tandem_host, inv_play_stop) + sizeof host->inv_play_stop;
}

int queue_load(tandem_module *self, const tandem_host *host) {
    module.self = self;
    module.host = host;
    if (!abi_ok(host)) {
        host->log(self, TANDEM_LOG_ERROR, nullptr, "queue: needs an engine with ABI 1.5 (call control)");
        return TANDEM_EINVAL;
    }
    int rc = configure();
    if (rc == TANDEM_OK) rc = register_functions();
    if (rc == TANDEM_OK) rc = register_queue_function();
    if (rc == TANDEM_OK) rc = callback::register_functions();
    if (rc != TANDEM_OK) return rc;
    return register_console_commands();
}

int queue_reload(tandem_module *) {
    int rc = configure();
    if (rc == TANDEM_OK) rc = register_functions();
    if (rc == TANDEM_OK) rc = register_queue_function();
    if (rc == TANDEM_OK) rc = callback::register_functions();
    if (rc != TANDEM_OK) return rc;
    return register_console_commands();
}

void queue_unload(tandem_module *) { module.service.reset(); }

const tandem_module_desc queue_desc = {
    TANDEM_MODULE_DESC_INIT, "queue", "0.1",
    "queues and ACD: agents, strategies, tiers, skills, priorities, queue log, Erlang C", nullptr, queue_load,
    queue_unload, queue_reload};

} // namespace

} // namespace tandem::queue

extern "C" {
TANDEM_MODULE(tandem::queue::queue_desc)
}
