#include "runtime/ids.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fmt/format.h>

namespace tandem::ids {
namespace {
const uint64_t g_boot = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count());
std::atomic<uint64_t> g_counter{0};
} // namespace

std::string next_call_id() { return fmt::format("{:x}-{}", g_boot, ++g_counter); }

std::string next_leg_id(const std::string &call_id, unsigned n) { return fmt::format("{}.{}", call_id, n); }

uint64_t now_us() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

} // namespace tandem::ids
