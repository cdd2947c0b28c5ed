// records::append_json_string: the CDR carries strings from far ends (caller
// names, SIP headers copied into variables) that can be any bytes. Whatever
// they are, the JSON must parse, and must say exactly what nlohmann's dump
// with error_handler_t::replace said before the records were written directly.
#include "records/json_writer.hpp"

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string input(reinterpret_cast<const char *>(data), size);
    std::string out;
    tandem::records::append_json_string(out, input);
    if (out != nlohmann::json(input).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
        std::abort();
    auto parsed = nlohmann::json::parse(out, nullptr, false);
    if (!parsed.is_string())
        std::abort();
    return 0;
}
