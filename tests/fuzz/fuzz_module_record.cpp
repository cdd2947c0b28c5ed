// records::stamp_record: a module's record text, stamped with the engine's
// members without a value tree. Whatever the bytes, it must refuse exactly
// what nlohmann refuses as a JSON object (and any NUL byte), and a record
// it stamps must read back as the module's object plus the engine's members.
#include "records/module_record.hpp"

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using nlohmann::json;
    using tandem::records::StampResult;
    std::string_view text(reinterpret_cast<const char *>(data), size);
    std::string out, id;
    StampResult result =
        tandem::records::stamp_record(text, {"queue_log", "t", "2026-01-01T00:00:00.000000Z"}, "new-id", out, id);
    json expected = json::parse(text, nullptr, false);
    // nlohmann takes a NUL byte for the end of its input; the record's
    // length says where it ends, so a NUL before that is refused, stricter.
    bool has_nul = text.find('\0') != std::string_view::npos;
    if (has_nul ? result != StampResult::invalid : (result == StampResult::invalid) != !expected.is_object())
        std::abort();
    if (result != StampResult::stamped)
        return 0;
    if (!expected.contains("id"))
        expected["id"] = "new-id";
    expected["kind"] = "queue_log";
    if (!expected.contains("tenant"))
        expected["tenant"] = "t";
    if (!expected.contains("time"))
        expected["time"] = "2026-01-01T00:00:00.000000Z";
    json stamped = json::parse(out, nullptr, false);
    if (stamped != expected || expected["id"] != id || out.find('\n') != std::string::npos)
        std::abort();
    return 0;
}
