#pragma once
// Where things live when nothing says otherwise: relative to the binary, so
// build/bin/tandem runs from the build tree exactly as an installed one does.
#include <string>

namespace tandem::paths {

std::string executable_dir();
std::string default_module_dir();
std::string default_data_root(); // shipped dialplans and sounds
std::string default_config_file(); // the demo
// Default state directory for an instance: $TANDEM_STATE_DIR, else
// /var/lib/tandem/INSTANCE when installed, else BUILD/var/INSTANCE.
std::string default_state_dir(const std::string &instance);
std::string absolute(const std::string &path, const std::string &base_dir);
bool make_dirs(const std::string &path, std::string &error);

} // namespace tandem::paths
