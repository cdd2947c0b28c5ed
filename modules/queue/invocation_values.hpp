// Arguments and results of the queue module's dialplan functions.
#pragma once

#include "queue_module.hpp"

#include <string>
#include <string_view>

namespace tandem::queue {

// Argument `i` as text; "" when absent or not a string.
inline std::string arg_text(tandem_invocation *inv, size_t i) {
    const tandem_value *v = module.host->inv_arg(inv, i);
    return v && v->type == TANDEM_VALUE_STRING ? std::string(v->as.string.ptr, v->as.string.len) : std::string();
}

inline void push_string(tandem_invocation *inv, std::string_view s) {
    tandem_value v{};
    v.type = TANDEM_VALUE_STRING;
    v.as.string.ptr = s.data();
    v.as.string.len = s.size();
    module.host->inv_return(inv, &v);
}

// The script gets nil and `message`, the Lua way of saying "did not work".
inline int return_failure(tandem_invocation *inv, std::string_view message) {
    tandem_value nil{};
    nil.type = TANDEM_VALUE_NIL;
    module.host->inv_return(inv, &nil);
    push_string(inv, message);
    return TANDEM_OK;
}

} // namespace tandem::queue
