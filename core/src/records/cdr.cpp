#include "records/cdr.hpp"

#include <algorithm>

#include "lua/lua_worker.hpp"
#include "media/formats.hpp"
#include "records/quality.hpp"
#include "runtime/call.hpp"
#include "runtime/ids.hpp"

#include <ctime>
#include <fmt/format.h>
#include <random>
#include <sys/stat.h>

namespace tandem::records {

using nlohmann::json;

namespace {

const std::string *var(const Leg &leg, std::string_view name) {
    auto it = leg.vars.find(name);
    return it == leg.vars.end() || it->second.empty() ? nullptr : &it->second;
}

json var_or_null(const Leg &leg, std::string_view name) {
    const std::string *v = var(leg, name);
    return v ? json(*v) : json();
}

std::optional<double> number_var(const Leg &leg, std::string_view name) {
    const std::string *v = var(leg, name);
    if (!v)
        return std::nullopt;
    char *end = nullptr;
    double d = std::strtod(v->c_str(), &end);
    return end && *end == '\0' ? std::optional<double>(d) : std::nullopt;
}

json number_or_null(std::optional<double> v) { return v ? json(*v) : json(); }

std::string driver_of(const Leg &leg) { return leg.name.substr(0, leg.name.find('/')); }

// Whole seconds, rounded up: a call answered for 0.2 s bills one second.
uint64_t ceil_seconds(uint64_t us) { return (us + 999999) / 1000000; }

json leg_quality(const Leg &leg) {
    QualityInputs in{number_var(leg, "rtcp_jitter_ms"), number_var(leg, "rtcp_loss_pct"),
                     number_var(leg, "rtcp_rtt_ms")};
    json q = {{"jitter_ms", number_or_null(in.jitter_ms)},
              {"loss_pct", number_or_null(in.loss_pct)},
              {"rtt_ms", number_or_null(in.rtt_ms)},
              {"rx_packets", number_or_null(number_var(leg, "rtp_rx_packets"))},
              {"tx_packets", number_or_null(number_var(leg, "rtp_tx_packets"))}};
    auto est = estimate_quality(in);
    q["r_factor"] = est ? json(std::round(est->r_factor * 10) / 10) : json();
    q["mos"] = est ? json(std::round(est->mos * 100) / 100) : json();
    return q;
}

std::vector<std::string> comma_list(const std::string &list) {
    std::vector<std::string> out;
    for (size_t pos = 0; pos <= list.size();) {
        size_t comma = list.find(',', pos);
        std::string item = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (!item.empty())
            out.push_back(std::move(item));
        pos = comma == std::string::npos ? list.size() + 1 : comma + 1;
    }
    return out;
}

const char *disposition(const Leg &channel) {
    if (channel.answered_us)
        return "answered";
    switch (channel.cause()) {
    case TANDEM_CAUSE_USER_BUSY: return "busy";
    case TANDEM_CAUSE_NO_USER_RESPONSE:
    case TANDEM_CAUSE_NO_ANSWER:
    case TANDEM_CAUSE_NORMAL_CLEARING: return "no_answer"; // the caller gave up first
    default: return "failed";
    }
}

// Which side ended the call: the first leg to hang up, and whether its far
// end did it ("caller" = the call's channel, "callee" = a dialled leg) or
// Tandem did (the dialplan, a console command, shutdown: "system").
const char *hangup_side(const Call &call) {
    const Leg *first = nullptr;
    for (auto &leg : call.legs)
        if (leg->ended_us && (!first || leg->ended_us < first->ended_us))
            first = leg.get();
    if (!first || !first->ended_by_far_end)
        return "system";
    return first == call.channel.get() ? "caller" : "callee";
}

// The dialled leg the call was routed to: the one that answered, else the last tried.
const Leg *routed_leg(const Call &call) {
    const Leg *last = nullptr;
    for (auto &leg : call.legs) {
        if (leg.get() == call.channel.get())
            continue;
        if (leg->answered_us)
            return leg.get();
        last = leg.get();
    }
    return last;
}

json sip_code(const Call &call, const Leg *routed) {
    for (const Leg *leg : std::initializer_list<const Leg *>{call.channel.get(), routed})
        if (leg)
            if (auto code = number_var(*leg, "sip_status"))
                return static_cast<int>(*code);
    return json();
}

} // namespace

std::string new_record_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    uint64_t ms = ids::now_us() / 1000;
    uint64_t a = rng(), b = rng();
    // 48-bit ms timestamp, version 7, 12 random bits, variant 10, 62 random bits.
    uint64_t hi = (ms << 16) | 0x7000 | (a & 0x0FFF);
    uint64_t lo = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
    return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
                       lo & 0xFFFFFFFFFFFFull);
}

json iso_time(uint64_t us) {
    if (!us)
        return json();
    time_t secs = static_cast<time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1000000);
}

json call_start_entry(const Call &call, const RecordsConfig &config) {
    const Leg &ch = *call.channel;
    return {{"call_id", call.id},
            {"linked_id", call.linked_id},
            {"tenant", config.tenant},
            {"accountcode", var_or_null(ch, "accountcode")},
            {"caller_num", call.received_caller_num},
            {"caller_name", ch.caller_name},
            {"called_num", call.received_exten},
            {"context", ch.context},
            {"source", ch.name},
            {"source_driver", driver_of(ch)},
            {"start_us", call.started_us}};
}

json build_cdr(const Call &call, const RecordsConfig &config, const std::string &record_id) {
    const Leg &ch = *call.channel;
    const Leg *routed = routed_leg(call);
    uint64_t end_us = ids::now_us();
    uint64_t answer_us = ch.answered_us;
    uint64_t duration_us = end_us - call.started_us;
    uint64_t billsec_us = answer_us ? end_us - answer_us : 0;

    json legs = json::array();
    json worst; // the leg with the lowest MOS speaks for the call
    for (auto &leg : call.legs) {
        json q = leg_quality(*leg);
        if (!q["mos"].is_null() && (worst.is_null() || q["mos"].get<double>() < worst["mos"].get<double>()))
            worst = q;
        legs.push_back({{"id", leg->id},
                        {"name", leg->name},
                        {"driver", driver_of(*leg)},
                        {"direction", leg->direction == Direction::inbound ? "inbound" : "outbound"},
                        {"caller_num", leg->caller_num},
                        {"start_time", iso_time(leg->created_us)},
                        {"answer_time", iso_time(leg->answered_us)},
                        {"end_time", iso_time(leg->ended_us)},
                        {"cause", leg->cause()},
                        {"cause_name", cause_name(leg->cause())},
                        {"sip_code", number_or_null(number_var(*leg, "sip_status"))},
                        {"ended_by_far_end", leg->ended_by_far_end},
                        {"codec", var(*leg, "rtp_codec") ? json(*var(*leg, "rtp_codec"))
                                                         : json(media::format_name(leg->format()))},
                        {"quality", q},
                        {"frames_in", leg->frames_in},
                        {"frames_out", leg->frames_out}});
    }
    json variables = json::object();
    for (auto &name : config.variables)
        if (const std::string *v = var(ch, name))
            variables[name] = *v;
    json recordings = json::array();
    if (const std::string *files = var(ch, "recording_file"))
        for (auto &f : comma_list(*files))
            recordings.push_back(f);
    json cdr = call_start_entry(call, config);
    cdr.erase("start_us");
    cdr.update({{"kind", "cdr"},
                {"id", record_id},
                {"routed_caller_num", routed ? json(routed->caller_num) : json()},
                {"routed_called", routed ? json(routed->name.substr(routed->name.find('/') + 1)) : json(ch.exten)},
                {"destination", routed ? json(routed->name) : json()},
                {"start_time", iso_time(call.started_us)},
                {"answer_time", iso_time(answer_us)},
                {"end_time", iso_time(end_us)},
                {"start_us", call.started_us},
                {"answer_us", answer_us},
                {"end_us", end_us},
                {"duration_us", duration_us},
                {"billsec_us", billsec_us},
                {"duration", ceil_seconds(duration_us)},
                {"billsec", ceil_seconds(billsec_us)},
                {"disposition", disposition(ch)},
                {"cause", ch.cause()},
                {"cause_name", cause_name(ch.cause())},
                {"sip_code", sip_code(call, routed)},
                {"hangup_side", hangup_side(call)},
                {"codec", legs[0]["codec"]},
                {"jitter_ms", worst.is_null() ? json() : worst["jitter_ms"]},
                {"loss_pct", worst.is_null() ? json() : worst["loss_pct"]},
                {"rtt_ms", worst.is_null() ? json() : worst["rtt_ms"]},
                {"r_factor", worst.is_null() ? json() : worst["r_factor"]},
                {"mos", worst.is_null() ? json() : worst["mos"]},
                {"queue", var_or_null(ch, "queue")},
                {"agent", var_or_null(ch, "agent")},
                {"recordings", recordings},
                {"variables", variables},
                {"internal", driver_of(ch) == "local"},
                {"legs", legs}});
    if (call.script && !call.script->last_error.empty())
        cdr["dialplan_error"] = call.script->last_error;
    return cdr;
}

json call_answer_entry(const Call &call) { return {{"answer_us", call.channel->answered_us}}; }

json build_interrupted_cdr(const json &start, const std::string &record_id, uint64_t last_alive_us,
                           uint64_t answer_us) {
    json cdr = start;
    uint64_t start_us = start.value("start_us", uint64_t(0));
    uint64_t end_us = std::max(last_alive_us, start_us);
    answer_us = answer_us ? std::clamp(answer_us, start_us, end_us) : 0;
    uint64_t billsec_us = answer_us ? end_us - answer_us : 0;
    cdr.update({{"kind", "cdr"},
                {"id", record_id},
                {"start_time", iso_time(start_us)},
                {"answer_time", iso_time(answer_us)},
                {"end_time", iso_time(end_us)},
                {"answer_us", answer_us},
                {"end_us", end_us},
                {"duration_us", end_us - start_us},
                {"billsec_us", billsec_us},
                {"duration", ceil_seconds(end_us - start_us)},
                {"billsec", ceil_seconds(billsec_us)},
                {"disposition", "interrupted"},
                {"cause", nullptr},
                {"cause_name", "interrupted"},
                {"hangup_side", "system"},
                {"recordings", json::array()},
                {"variables", json::object()},
                {"internal", start.value("source_driver", "") == "local"},
                {"legs", json::array()}});
    return cdr;
}

std::vector<json> recording_records(const json &cdr, const std::string &described) {
    std::vector<json> out;
    std::vector<std::string> skip = comma_list(described);
    for (auto &file : cdr["recordings"]) {
        struct stat st {};
        std::string path = file.get<std::string>();
        if (std::find(skip.begin(), skip.end(), path) != skip.end())
            continue;
        out.push_back({{"kind", "recording"},
                       {"id", new_record_id()},
                       {"call_id", cdr["call_id"]},
                       {"linked_id", cdr["linked_id"]},
                       {"tenant", cdr["tenant"]},
                       {"file", path},
                       {"start_time", cdr["answer_time"].is_null() ? cdr["start_time"] : cdr["answer_time"]},
                       {"end_time", cdr["end_time"]},
                       {"bytes", ::stat(path.c_str(), &st) == 0 ? json(st.st_size) : json()}});
    }
    return out;
}

} // namespace tandem::records
