#pragma once
// One call of a module's dialplan function, as the host table sees it. While
// it is suspended it may also control legs of its call (ABI 1.5): the legs it
// dialled, one bridge and the plays it started live here, so that its end
// (complete or cancel) can take them all down.
#include "modules/registry.hpp"
#include "runtime/bridge.hpp"
#include "runtime/ref.hpp"
#include "tandem/module.h"

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tandem {
class Call;
class Leg;
class LuaWorker;
} // namespace tandem

struct tandem_invocation {
    tandem::Call *call = nullptr;
    tandem::Leg *leg = nullptr;
    tandem::LuaWorker *lua = nullptr;
    tandem::Registered<tandem_function> function;
    tandem::ModuleUse use; // the module cannot unload while this exists
    std::vector<tandem_value> args;
    std::vector<tandem_value> results;
    std::deque<std::string> result_strings; // deque: stable addresses
    std::string error;
    bool suspended = false;

    // --- call control (ABI 1.5) ---
    struct Dialled {
        tandem::Ref<tandem::Leg> leg;
        uint64_t tag;
    };
    std::optional<tandem_inv_watch> watch;
    std::vector<Dialled> dialled;
    std::unique_ptr<tandem::Bridge> bridge;
    uint64_t bridge_tag = 0;
    // The current play per leg; replacing or dropping the token cancels it.
    std::map<tandem::Leg *, std::shared_ptr<int>> plays;
};
