// The queue module's settings as read from tandem.lua's flat keys, and the
// look-ups by name that every offer makes (no scan of all agents).
#include "queue_settings.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace tandem::queue;

namespace {
bool read(const std::map<std::string, std::string> &keys, Settings &out, std::vector<std::string> &errors) {
    auto get = [&keys](const std::string &key) -> const char * {
        auto it = keys.find(key);
        return it == keys.end() ? nullptr : it->second.c_str();
    };
    return read_settings(get, out, errors);
}
} // namespace

TEST_CASE("queue settings find agents and queues by name") {
    std::map<std::string, std::string> keys{
        {"agents.1.name", "alice"},        {"agents.1.contact", "sip/1001"},
        {"agents.2.name", "bob"},          {"agents.2.contact.1", "sip/1002"},
        {"agents.2.contact.2", "sip/2002"}, {"queues.1.name", "sales"},
        {"queues.1.members.1", "bob"},     {"queues.1.moh", "jazz"},
        {"queues.2.name", "support"}};
    Settings s;
    std::vector<std::string> errors;
    REQUIRE(read(keys, s, errors));
    REQUIRE(s.agent("bob"));
    CHECK(s.agent("bob")->contacts == std::vector<std::string>{"sip/1002", "sip/2002"});
    REQUIRE(s.agent("alice"));
    CHECK(s.agent("alice")->contacts == std::vector<std::string>{"sip/1001"});
    CHECK(s.agent("carol") == nullptr);
    CHECK(s.agent("") == nullptr);
    REQUIRE(s.queue("sales"));
    CHECK(s.queue("sales")->caller.moh == "jazz");
    CHECK(s.queue("support")->config.name == "support");
    CHECK(s.queue("billing") == nullptr);

    Settings moved = std::move(s); // the module keeps the settings it read: indexes go with them
    REQUIRE(moved.agent("bob"));
    CHECK(moved.agent("bob")->config.name == "bob");
}

TEST_CASE("queue settings refuse a name declared twice") {
    Settings s;
    std::vector<std::string> errors;
    CHECK_FALSE(read({{"agents.1.name", "a"}, {"agents.2.name", "a"}, {"queues.1.name", "q"}, {"queues.2.name", "q"}}, s,
                     errors));
    CHECK(errors.size() == 2);
}
