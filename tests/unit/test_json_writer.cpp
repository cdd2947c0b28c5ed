// records::JsonWriter: the records built on every call are written as JSON
// text directly; whatever goes in, what comes out must parse back to it.
#include "records/json_writer.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

using tandem::records::append_json_string;
using tandem::records::JsonWriter;

namespace {
std::string json_text(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}
std::string number(double d) {
    std::string out;
    JsonWriter(out).value(d);
    return out;
}
} // namespace

TEST_CASE("json strings escape quotes, backslashes and control characters", "[json_writer]") {
    CHECK(json_text("plain text / slash") == R"("plain text / slash")");
    CHECK(json_text("say \"hi\"") == R"("say \"hi\"")");
    CHECK(json_text("C:\\dir\\") == R"("C:\\dir\\")");
    CHECK(json_text("a\nb\tc\rd\be\ff") == R"("a\nb\tc\rd\be\ff")");
    CHECK(json_text(std::string("nul\0x", 5)) == R"("nul\u0000x")");
    CHECK(json_text("\x01\x1f") == R"("\u0001\u001f")");
    CHECK(json_text("del\x7f") == "\"del\x7f\""); // DEL needs no escape in JSON
    CHECK(json_text("") == R"("")");
    // Every byte below 0x20 comes back as itself.
    std::string all;
    for (int c = 0; c < 0x20; ++c)
        all.push_back(static_cast<char>(c));
    all += "\"\\\x7f";
    CHECK(nlohmann::json::parse(json_text(all)).get<std::string>() == all);
}

TEST_CASE("json strings pass valid UTF-8 through and replace invalid bytes with U+FFFD", "[json_writer]") {
    const std::string fffd = "\xEF\xBF\xBD";
    // 2-, 3- and 4-byte sequences, at the edges of their ranges.
    for (std::string ok : {"caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x93\x9E", "\xC2\x80", "\xED\x9F\xBF",
                           "\xEE\x80\x80", "\xF4\x8F\xBF\xBF", "\xEF\xBF\xBF"})
        CHECK(json_text(ok) == "\"" + ok + "\"");
    CHECK(json_text("bad\xFF") == "\"bad" + fffd + "\"");
    CHECK(json_text("\x80x") == "\"" + fffd + "x\"");         // a lone continuation byte
    CHECK(json_text("\xC0\xAF") == "\"" + fffd + fffd + "\""); // an overlong '/'
    CHECK(json_text("\xE0\x80\x80") == "\"" + fffd + fffd + fffd + "\"");
    CHECK(json_text("\xED\xA0\x80") == "\"" + fffd + fffd + fffd + "\""); // a UTF-16 surrogate
    CHECK(json_text("\xF4\x90\x80\x80") == "\"" + fffd + fffd + fffd + fffd + "\""); // above U+10FFFF
    CHECK(json_text("\xE2\x82") == "\"" + fffd + "\"");  // a sequence cut by the end
    CHECK(json_text("\xE2\x82x") == "\"" + fffd + "x\""); // ... or by an ASCII byte, which stays
    CHECK(json_text("\xF0\x9F\x93\"") == "\"" + fffd + "\\\"\"");
    // Whatever the bytes, the text parses (nlohmann rejects invalid UTF-8).
    std::string noise;
    for (int i = 0; i < 4096; ++i)
        noise.push_back(static_cast<char>((i * 7919 + i / 13) & 0xFF));
    CHECK_NOTHROW(nlohmann::json::parse(json_text(noise)));
}

TEST_CASE("json numbers: integers exactly, doubles round-trip with a fraction, no NaN", "[json_writer]") {
    std::string out;
    JsonWriter(out)
        .begin_array()
        .value(0)
        .value(-17)
        .value(std::numeric_limits<int64_t>::min())
        .value(std::numeric_limits<uint64_t>::max())
        .value(uint16_t(200))
        .end_array();
    CHECK(out == "[0,-17,-9223372036854775808,18446744073709551615,200]");

    CHECK(number(4.41) == "4.41");   // a MOS to two decimals
    CHECK(number(93.2) == "93.2");   // an R factor to one
    CHECK(number(12.5) == "12.5");   // jitter in ms
    CHECK(number(200.0) == "200.0"); // a whole double stays a JSON float
    CHECK(number(-0.25) == "-0.25");
    CHECK(number(0.0) == "0.0");
    CHECK(number(1e300) == "1e+300");
    CHECK(number(std::nan("")) == "null");
    CHECK(number(std::numeric_limits<double>::infinity()) == "null");
    for (double d : {0.1, 1.0 / 3, 2.5e-7, 123456.789, std::round(3.14159 * 100) / 100})
        CHECK(nlohmann::json::parse(number(d)).get<double>() == d);
    CHECK(number(std::round(4.4049 * 100) / 100) == "4.4");
}

TEST_CASE("json objects and arrays nest, with commas only between members", "[json_writer]") {
    std::string out;
    JsonWriter w(out);
    w.begin_object()
        .field("s", "x")
        .field("n", 1)
        .field("b", true)
        .field("f", false)
        .key("z")
        .null()
        .field("opt", std::optional<double>())
        .field("some", std::optional<double>(2.5))
        .key("empty_o")
        .begin_object()
        .end_object()
        .key("empty_a")
        .begin_array()
        .end_array()
        .key("a")
        .begin_array()
        .value(1)
        .begin_object()
        .field("k", "v")
        .end_object()
        .begin_array()
        .value("in")
        .end_array()
        .null()
        .end_array()
        .end_object();
    CHECK(out == R"({"s":"x","n":1,"b":true,"f":false,"z":null,"opt":null,"some":2.5,"empty_o":{},"empty_a":[],)"
                 R"("a":[1,{"k":"v"},["in"],null]})");
    auto j = nlohmann::json::parse(out);
    CHECK(j["a"][1]["k"] == "v");

    // Members added to an object that is already written.
    JsonWriter more(out);
    more.reopen_object().field("late", 2).end_object();
    CHECK(nlohmann::json::parse(out)["late"] == 2);
    std::string empty = "{}";
    JsonWriter(empty).reopen_object().field("only", 1).end_object();
    CHECK(empty == R"({"only":1})");
}

TEST_CASE("json strings are byte for byte what nlohmann's dump (replace) wrote before", "[json_writer]") {
    // Short strings drawn mostly from the bytes that start, continue or
    // break UTF-8 sequences, where the two could disagree.
    const unsigned char interesting[] = {'a', '"', '\\', '\n', 0x01, 0x1f, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
                                         0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf4,
                                         0xf5, 0xff};
    uint32_t seed = 12345;
    auto next = [&] { return seed = seed * 1103515245u + 12345u, seed >> 16; };
    int mismatches = 0;
    for (int n = 0; n < 50000; ++n) {
        std::string s;
        for (uint32_t len = next() % 8; len > 0; --len)
            s.push_back(static_cast<char>(next() % 4 ? interesting[next() % sizeof interesting] : next() & 0xFF));
        std::string expected = nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        if (json_text(s) != expected && ++mismatches <= 5) {
            INFO("input bytes: " << nlohmann::json(nlohmann::json::binary_t(std::vector<uint8_t>(s.begin(), s.end()))));
            CHECK(json_text(s) == expected);
        }
    }
    CHECK(mismatches == 0);
}
