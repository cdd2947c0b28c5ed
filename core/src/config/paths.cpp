#include "config/paths.hpp"

#include "build_info.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <unistd.h>

namespace fs = std::filesystem;

namespace tandem::paths {

std::string executable_dir() {
    std::error_code ec;
    auto exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec)
        return ".";
    return exe.parent_path().string();
}

std::string default_module_dir() {
    return fs::weakly_canonical(fs::path(executable_dir()) / build::rel_module_dir).string();
}

std::string default_data_root() {
    return fs::weakly_canonical(fs::path(executable_dir()) / build::rel_data_dir).string();
}

std::string default_config_file() { return (fs::path(default_data_root()) / "demo" / "tandem.lua").string(); }

std::string default_state_dir(const std::string &instance) {
    if (const char *env = std::getenv("TANDEM_STATE_DIR"); env && *env)
        return (fs::path(env) / instance).string();
    // A build tree has CMakeCache.txt one level above bin/.
    fs::path build = fs::path(executable_dir()).parent_path();
    if (fs::exists(build / "CMakeCache.txt"))
        return (build / "var" / instance).string();
    return (fs::path("/var/lib/tandem") / instance).string();
}

std::string absolute(const std::string &path, const std::string &base_dir) {
    if (path.empty())
        return path;
    fs::path p(path);
    if (p.is_absolute())
        return p.lexically_normal().string();
    return (fs::path(base_dir) / p).lexically_normal().string();
}

bool make_dirs(const std::string &path, std::string &error) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) {
        error = path + ": " + ec.message();
        return false;
    }
    return true;
}

} // namespace tandem::paths
