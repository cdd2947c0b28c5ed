// Configuration loading and `tandem check`: every error named, with file:line.
#include "config/config.hpp"
#include "engine_fixture.hpp"
#include "runtime/engine.hpp"

#include <catch2/catch.hpp>

using namespace tandem;

namespace {
std::string joined(const std::vector<std::string> &v) {
    std::string s;
    for (auto &e : v)
        s += e + "\n";
    return s;
}
} // namespace

TEST_CASE("a valid config loads with defaults and resolved paths", "[config]") {
    std::string dir = test::make_temp_dir();
    test::write_file(dir + "/dp.lua", "return { contexts = {} }");
    test::write_file(dir + "/tandem.lua",
                     "return { instance = 'acme', workers = 3, dialplan = 'dp.lua', paths = { data = 'var' } }");
    std::vector<std::string> errors;
    ConfigOverrides o;
    o.control_socket = dir + "/ctl";
    auto c = load_config(dir + "/tandem.lua", o, errors);
    INFO(joined(errors));
    REQUIRE(c);
    CHECK(c->instance == "acme");
    CHECK(c->workers == 3);
    CHECK(c->dialplan == dir + "/dp.lua");
    CHECK(c->paths.data == dir + "/var");
    CHECK(c->paths.spool == dir + "/var/spool");
    CHECK(c->paths.control_socket == dir + "/ctl");
    CHECK(c->limits.instructions == 10'000'000);
}

TEST_CASE("config errors name every bad key", "[config]") {
    std::string dir = test::make_temp_dir();
    test::write_file(dir + "/tandem.lua",
                     "return { wrokers = 2, workers = 'many', log = { level = 'loud' }, limits = { memory_kb = 1 } }");
    std::vector<std::string> errors;
    auto c = load_config(dir + "/tandem.lua", {}, errors);
    CHECK_FALSE(c);
    std::string all = joined(errors);
    CHECK(all.find("wrokers: unknown setting") != std::string::npos);
    CHECK(all.find("workers: expected an integer") != std::string::npos);
    CHECK(all.find("log.level: expected debug") != std::string::npos);
    CHECK(all.find("limits.memory_kb: expected an integer in 16..") != std::string::npos);
}

TEST_CASE("module_config flattens nested tables into dotted keys", "[config]") {
    std::string dir = test::make_temp_dir();
    test::write_file(dir + "/dialplan.lua", "return { contexts = {} }");
    test::write_file(dir + "/tandem.lua",
                     "return { module_config = { sip = { listen = 'sip:x', qualify = 30, tls = true,\n"
                     "  trunks = { { name = 'prov', allowed_ips = { '10.0.0.0/8', '::1' } } } } } }");
    std::vector<std::string> errors;
    auto c = load_config(dir + "/tandem.lua", {}, errors);
    INFO(joined(errors));
    REQUIRE(c);
    auto &sip = c->module_config["sip"];
    CHECK(sip["listen"] == "sip:x");
    CHECK(sip["qualify"] == "30");
    CHECK(sip["tls"] == "true");
    CHECK(sip["trunks.1.name"] == "prov");
    CHECK(sip["trunks.1.allowed_ips.1"] == "10.0.0.0/8");
    CHECK(sip["trunks.1.allowed_ips.2"] == "::1");
    errors.clear();
    test::write_file(dir + "/tandem.lua", "return { module_config = { sip = { f = function() end } } }");
    CHECK_FALSE(load_config(dir + "/tandem.lua", {}, errors));
    CHECK(joined(errors).find("module_config.sip.f: expected a string, number, boolean or table") !=
          std::string::npos);
}

TEST_CASE("a config syntax error or endless loop is reported, not hung on", "[config]") {
    std::string dir = test::make_temp_dir();
    test::write_file(dir + "/tandem.lua", "return {\n workers = 1\n modules = {} }");
    std::vector<std::string> errors;
    CHECK_FALSE(load_config(dir + "/tandem.lua", {}, errors));
    CHECK(joined(errors).find("tandem.lua:3:") != std::string::npos);
    errors.clear();
    test::write_file(dir + "/tandem.lua", "while true do end");
    CHECK_FALSE(load_config(dir + "/tandem.lua", {}, errors));
    CHECK(joined(errors).find("runs too long") != std::string::npos);
}

TEST_CASE("dialplan check reports syntax, structure and pattern errors with file:line", "[check]") {
    std::string dir = test::make_temp_dir();
    std::vector<std::string> errors;
    test::write_file(dir + "/syntax.lua", "return {\n  contexts = {\n    x = { ['1'] = function(call) call:answer( end }\n  }\n}");
    CHECK_FALSE(Engine::check_dialplan(dir + "/syntax.lua", errors));
    CHECK(joined(errors).find("syntax.lua:3:") != std::string::npos);

    errors.clear();
    test::write_file(dir + "/shape.lua", "return {\n contexts = { x = { ['_1[2'] = function(call) end, ['2'] = 5 } },"
                                         "\n extra = 1 }");
    CHECK_FALSE(Engine::check_dialplan(dir + "/shape.lua", errors));
    std::string all = joined(errors);
    CHECK(all.find("shape.lua:2:") != std::string::npos); // where the bad pattern's handler is defined
    CHECK(all.find("unterminated") != std::string::npos);
    CHECK(all.find("extension '2': expected a function(call), got number") != std::string::npos);
    CHECK(all.find("unknown key 'extra'") != std::string::npos);

    errors.clear();
    test::write_file(dir + "/runtime.lua", "error('refusing to load')");
    CHECK_FALSE(Engine::check_dialplan(dir + "/runtime.lua", errors));
    CHECK(joined(errors).find("runtime.lua:1: refusing to load") != std::string::npos);

    errors.clear();
    test::write_file(dir + "/spin.lua", "local n = 0\nwhile true do n = n + 1 end");
    CHECK_FALSE(Engine::check_dialplan(dir + "/spin.lua", errors));
    CHECK(joined(errors).find("spin.lua:2: the dialplan's top level runs too long") != std::string::npos);

    errors.clear();
    test::write_file(dir + "/good.lua", "return { contexts = { x = { ['_X.'] = function(call) end } } }");
    CHECK(Engine::check_dialplan(dir + "/good.lua", errors));
}
