// host->record_emit (ABI 1.2): a module's queue-log row reaches the sinks
// through the same durable spool as the CDRs.
#include "engine_fixture.hpp"
#include "modules/host_table.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

using tandem::test::EngineFixture;

namespace {
std::vector<nlohmann::json> lines_of(const std::string &path) {
    std::vector<nlohmann::json> out;
    std::ifstream f(path);
    for (std::string line; std::getline(f, line);)
        out.push_back(nlohmann::json::parse(line));
    return out;
}
} // namespace

TEST_CASE("record_emit spools a module's queue-log row for every sink, and refuses bad input") {
    EngineFixture fx("return { contexts = { test = {} } }");
    const tandem_host *host = tandem::host_table();
    REQUIRE(host->struct_size >= offsetof(tandem_host, record_emit) + sizeof(void *));
    std::string row = R"({"id":"q-1","queue":"sales","agent":"2001","event":"connect","call_id":"c-9","data":{"wait_s":12}})";
    CHECK(host->record_emit(nullptr, "queue_log", row.data(), row.size()) == TANDEM_OK);
    std::string path = fx.dir() + "/data/records/queue_log.jsonl";
    REQUIRE(EngineFixture::poll_until([&] { return lines_of(path).size() == 1; }));
    auto r = lines_of(path)[0];
    CHECK(r["id"] == "q-1");
    CHECK(r["kind"] == "queue_log");
    CHECK(r["tenant"] == "test");
    CHECK(r["queue"] == "sales");
    CHECK(r["data"]["wait_s"] == 12);
    CHECK(r["time"].get<std::string>().ends_with("Z"));

    // What the engine overrides goes through a value tree: the kind is the
    // engine's, and a record is written on one line.
    std::string rewritten = "{\n \"kind\": \"cdr\",\n \"id\": 5,\n \"n\": 2\n}";
    CHECK(host->record_emit(nullptr, "queue_log", rewritten.data(), rewritten.size()) == TANDEM_OK);
    REQUIRE(EngineFixture::poll_until([&] { return lines_of(path).size() == 2; }));
    auto second = lines_of(path)[1];
    CHECK(second["kind"] == "queue_log");
    CHECK(second["n"] == 2);
    CHECK(second["id"].is_string());
    CHECK(second["id"] != "q-1");

    CHECK(host->record_emit(nullptr, "cdr", row.data(), row.size()) == TANDEM_EINVAL); // only the engine writes CDRs
    CHECK(host->record_emit(nullptr, "queue_log", "[1,2]", 5) == TANDEM_EINVAL);
    CHECK(host->record_emit(nullptr, "queue_log", "{\"a\":", 5) == TANDEM_EINVAL);
    CHECK(host->record_emit(nullptr, "bad\nkind", "{}", 2) == TANDEM_EINVAL);
    std::string newline_id = R"({"id":"a\nb"})";
    CHECK(host->record_emit(nullptr, "queue_log", newline_id.data(), newline_id.size()) == TANDEM_EINVAL);
}
