// records::stamp_record: a module's record text gets the engine's members
// without a value tree, and anything that is not one JSON object is refused.
#include "records/module_record.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

using tandem::records::RecordStamp;
using tandem::records::stamp_record;
using tandem::records::StampResult;

namespace {
const RecordStamp kStamp{"queue_log", "acme \"east\"", "2026-11-24T01:02:03.000004Z"};

StampResult stamp(std::string_view text, std::string &out, std::string &id) {
    return stamp_record(text, kStamp, "new-id", out, id);
}
} // namespace

TEST_CASE("stamp_record puts the engine's members in front of the module's") {
    std::string out, id;
    std::string row = R"({"event":"OFFER","data":{"id":7,"kind":"inner"},"list":[1,{"x":null}]})";
    REQUIRE(stamp(row, out, id) == StampResult::stamped);
    CHECK(id == "new-id");
    CHECK(out.find('\n') == std::string::npos);
    CHECK(out.ends_with(row.substr(1))); // the module's text as it came
    auto r = nlohmann::json::parse(out);
    CHECK(r["id"] == "new-id");
    CHECK(r["kind"] == "queue_log");
    CHECK(r["tenant"] == "acme \"east\"");
    CHECK(r["time"] == "2026-11-24T01:02:03.000004Z");
    CHECK(r["event"] == "OFFER");
    CHECK(r["data"]["id"] == 7); // members below the top level are the module's own
    CHECK(r["data"]["kind"] == "inner");
    CHECK(r.size() == 7);
}

TEST_CASE("stamp_record keeps the module's own id, tenant and time") {
    std::string out, id;
    REQUIRE(stamp(R"({"time":"then","id":"q-1","tenant":"t2","n":1})", out, id) == StampResult::stamped);
    CHECK(id == "q-1");
    auto r = nlohmann::json::parse(out);
    CHECK(r["id"] == "q-1");
    CHECK(r["tenant"] == "t2");
    CHECK(r["time"] == "then");
    CHECK(r["kind"] == "queue_log");
    CHECK(r.size() == 5);
}

TEST_CASE("stamp_record handles an empty object and blanks around members") {
    std::string out, id;
    for (std::string_view text : {"{}", " {  } ", "\t{\t}\t"}) {
        REQUIRE(stamp(text, out, id) == StampResult::stamped);
        auto r = nlohmann::json::parse(out);
        CHECK(r.size() == 4);
        CHECK(out.back() == '}');
    }
    REQUIRE(stamp(R"(  { "a" : 1 }  )", out, id) == StampResult::stamped);
    CHECK(nlohmann::json::parse(out)["a"] == 1);
    CHECK(out.back() == '}');
}

TEST_CASE("stamp_record reads names and values as JSON does") {
    std::string out, id;
    // an escaped name is the same name: this record has its own id
    REQUIRE(stamp(R"({"\u0069d":"x\u00e9","n":1e-400,"s":"\ud83d\ude00"})", out, id) == StampResult::stamped);
    CHECK(id == "x\xc3\xa9");
    auto r = nlohmann::json::parse(out);
    CHECK(r["id"] == "x\xc3\xa9");
    CHECK(r["s"] == "\xf0\x9f\x98\x80");
    CHECK(r.size() == 6);
    CHECK(stamp(R"({"k\u0069nd":1})", out, id) == StampResult::needs_tree); // still the engine's member
}

TEST_CASE("stamp_record leaves records the engine must rewrite to the value tree") {
    std::string out, id;
    CHECK(stamp(R"({"kind":"cdr","a":1})", out, id) == StampResult::needs_tree);    // kind is the engine's
    CHECK(stamp(R"({"id":12})", out, id) == StampResult::needs_tree);              // a record id is a string
    CHECK(stamp(R"({"id":{"a":"b"}})", out, id) == StampResult::needs_tree);
    CHECK(stamp(R"({"id":"a","id":"b"})", out, id) == StampResult::needs_tree);    // which one wins
    CHECK(stamp("{\n  \"a\": 1\n}", out, id) == StampResult::needs_tree);          // a record is one line
    CHECK(stamp("{\"a\":1}\r\n", out, id) == StampResult::needs_tree);
}

TEST_CASE("stamp_record refuses what is not exactly one JSON object") {
    std::string out, id;
    for (std::string_view text : std::initializer_list<std::string_view>{"", " ", "[1,2]", "\"s\"", "12", "null", "{\"a\":", "{\"a\":1", "{} x", "{}{}",
                                  "{\"a\":\"\xff\"}", "{\"a\":\"line\nbreak\"}", "{'a':1}", "{\"a\":1,}",
                                  // a number no double holds, a lone low surrogate, UTF-8 of a surrogate,
                                  // an overlong form, a NUL before the end, leading zeros, a bare minus
                                  "{\"n\":1e400}", R"({"s":"\udc00"})", R"({"s":"\ud800x"})", "{\"s\":\"\xed\xa0\x80\"}",
                                  "{\"s\":\"\xc0\xaf\"}", std::string_view("{}\0", 3), "{\"n\":01}", "{\"n\":-}"}) {
        INFO(text);
        CHECK(stamp(text, out, id) == StampResult::invalid);
    }
}
