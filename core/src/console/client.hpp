#pragma once
// `tandem ctl`: sends one command to a running instance and prints the reply.
#include <string>
#include <vector>

namespace tandem::console {

// Returns the process exit code: 0 ok, 1 the command failed, 2 no engine.
int run_client(const std::string &socket_path, const std::vector<std::string> &args, bool json_output);

} // namespace tandem::console
