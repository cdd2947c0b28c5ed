#include "console/fan_out.hpp"

#include "runtime/engine.hpp"
#include "runtime/worker.hpp"

#include <chrono>
#include <future>
#include <memory>

namespace tandem::console {

using nlohmann::json;

json on_every_worker(Engine &engine, const std::function<json(Worker &)> &fn) {
    json out = json::array();
    std::vector<std::future<json>> futures;
    for (int i = 0; i < engine.worker_count(); ++i) {
        auto promise = std::make_shared<std::promise<json>>();
        futures.push_back(promise->get_future());
        Worker &w = engine.worker(i);
        if (!w.post([promise, &w, fn] { promise->set_value(fn(w)); }))
            promise->set_value(json::array());
    }
    for (auto &f : futures) {
        if (f.wait_for(std::chrono::seconds(2)) != std::future_status::ready)
            continue;
        for (auto &item : f.get())
            out.push_back(item);
    }
    return out;
}

} // namespace tandem::console
