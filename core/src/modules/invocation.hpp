#pragma once
// One call of a module's dialplan function, as the host table sees it.
#include "modules/registry.hpp"
#include "tandem/module.h"

#include <deque>
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
};
