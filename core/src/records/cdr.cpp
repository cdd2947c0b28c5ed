#include "records/cdr.hpp"

#include <algorithm>

#include "lua/lua_worker.hpp"
#include "media/formats.hpp"
#include "records/json_writer.hpp"
#include "records/quality.hpp"
#include "runtime/call.hpp"
#include "runtime/ids.hpp"

#include <cmath>
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

std::optional<double> number_var(const Leg &leg, std::string_view name) {
    const std::string *v = var(leg, name);
    if (!v)
        return std::nullopt;
    char *end = nullptr;
    double d = std::strtod(v->c_str(), &end);
    return end && *end == '\0' ? std::optional<double>(d) : std::nullopt;
}

// A variable's value, or null when unset or empty.
void var_field(JsonWriter &w, std::string_view key, const Leg &leg, std::string_view name) {
    if (const std::string *v = var(leg, name))
        w.field(key, *v);
    else
        w.key(key).null();
}

void put_digits(char *&p, uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10)
        p[i] = static_cast<char>('0' + v % 10);
    p += width;
}

// The calendar date of a day number counted from 1970-01-01 (proleptic
// Gregorian; days are whole 400-year eras of 146097 days).
void civil_date(uint64_t days, uint64_t &year, unsigned &month, unsigned &day) {
    days += 719468; // from 0000-03-01: leap days fall at the end of a year
    uint64_t era = days / 146097;
    auto doe = static_cast<unsigned>(days - era * 146097);                 // day of era
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // year of era
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // day of (March-based) year
    unsigned mp = (5 * doy + 2) / 153;                                     // March = 0
    day = doy - (153 * mp + 2) / 5 + 1;
    month = mp < 10 ? mp + 3 : mp - 9;
    year = era * 400 + yoe + (month <= 2 ? 1 : 0);
}

// Computed here rather than with gmtime_r, which takes glibc's time zone
// lock: this runs several times per CDR on every worker.
std::string_view format_iso_time(uint64_t us, char (&buf)[32]) {
    uint64_t secs = us / 1000000;
    uint64_t year;
    unsigned month, day;
    civil_date(secs / 86400, year, month, day);
    uint64_t sod = secs % 86400;
    char *p = buf;
    put_digits(p, year, 4);
    *p++ = '-';
    put_digits(p, month, 2);
    *p++ = '-';
    put_digits(p, day, 2);
    *p++ = 'T';
    put_digits(p, sod / 3600, 2);
    *p++ = ':';
    put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    put_digits(p, sod % 60, 2);
    *p++ = '.';
    put_digits(p, us % 1000000, 6);
    *p++ = 'Z';
    return std::string_view(buf, static_cast<size_t>(p - buf));
}

// A time as ISO 8601, or null for 0 (never happened).
void time_field(JsonWriter &w, std::string_view key, uint64_t us) {
    char buf[32];
    if (us)
        w.field(key, format_iso_time(us, buf));
    else
        w.key(key).null();
}

std::string_view driver_of(const Leg &leg) {
    std::string_view name = leg.name;
    return name.substr(0, name.find('/'));
}

// Whole seconds, rounded up: a call answered for 0.2 s bills one second.
uint64_t ceil_seconds(uint64_t us) { return (us + 999999) / 1000000; }

// What RTCP said about a leg, and the quality estimated from it (r_factor
// to one decimal, MOS to two: what the records promise).
struct LegQuality {
    std::optional<double> jitter_ms, loss_pct, rtt_ms, rx_packets, tx_packets, r_factor, mos;
};

LegQuality leg_quality(const Leg &leg) {
    QualityInputs in{number_var(leg, "rtcp_jitter_ms"), number_var(leg, "rtcp_loss_pct"),
                     number_var(leg, "rtcp_rtt_ms")};
    LegQuality q{in.jitter_ms, in.loss_pct, in.rtt_ms, number_var(leg, "rtp_rx_packets"),
                 number_var(leg, "rtp_tx_packets"), std::nullopt, std::nullopt};
    if (auto est = estimate_quality(in)) {
        q.r_factor = std::round(est->r_factor * 10) / 10;
        q.mos = std::round(est->mos * 100) / 100;
    }
    return q;
}

void write_quality(JsonWriter &w, const LegQuality &q) {
    w.begin_object()
        .field("jitter_ms", q.jitter_ms)
        .field("loss_pct", q.loss_pct)
        .field("rtt_ms", q.rtt_ms)
        .field("rx_packets", q.rx_packets)
        .field("tx_packets", q.tx_packets)
        .field("r_factor", q.r_factor)
        .field("mos", q.mos)
        .end_object();
}

// Calls f(item) for each non-empty item of a comma-separated list.
template <typename F> void for_each_listed(std::string_view list, F &&f) {
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        if (!item.empty())
            f(item);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
}

bool listed(std::string_view list, std::string_view item) {
    bool found = false;
    for_each_listed(list, [&](std::string_view i) { found = found || i == item; });
    return found;
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

void sip_code_field(JsonWriter &w, const Call &call, const Leg *routed) {
    w.key("sip_code");
    for (const Leg *leg : std::initializer_list<const Leg *>{call.channel.get(), routed})
        if (leg)
            if (auto code = number_var(*leg, "sip_status")) {
                w.value(static_cast<int>(*code));
                return;
            }
    w.null();
}

std::string leg_codec(const Leg &leg) {
    const std::string *v = var(leg, "rtp_codec");
    return v ? *v : media::format_name(leg.format());
}

void write_leg(JsonWriter &w, const Leg &leg, const LegQuality &q, const std::string &codec) {
    w.begin_object()
        .field("id", leg.id)
        .field("name", leg.name)
        .field("driver", driver_of(leg))
        .field("direction", leg.direction == Direction::inbound ? "inbound" : "outbound")
        .field("caller_num", leg.caller_num);
    time_field(w, "start_time", leg.created_us);
    time_field(w, "answer_time", leg.answered_us);
    time_field(w, "end_time", leg.ended_us);
    w.field("cause", leg.cause())
        .field("cause_name", cause_name(leg.cause()))
        .field("sip_code", number_var(leg, "sip_status"))
        .field("ended_by_far_end", leg.ended_by_far_end)
        .field("codec", codec);
    write_quality(w.key("quality"), q);
    w.field("frames_in", leg.frames_in).field("frames_out", leg.frames_out).end_object();
}

// The fields a call's start journal entry and its CDR share.
void write_call_identity(JsonWriter &w, const Call &call, const RecordsConfig &config) {
    const Leg &ch = *call.channel;
    w.field("call_id", call.id).field("linked_id", call.linked_id).field("tenant", config.tenant);
    var_field(w, "accountcode", ch, "accountcode");
    w.field("caller_num", call.received_caller_num)
        .field("caller_name", ch.caller_name)
        .field("called_num", call.received_exten)
        .field("context", ch.context)
        .field("source", ch.name)
        .field("source_driver", driver_of(ch));
}

} // namespace

std::string new_record_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    uint64_t ms = ids::now_us() / 1000;
    uint64_t a = rng(), b = rng();
    // 48-bit ms timestamp, version 7, 12 random bits, variant 10, 62 random bits.
    uint64_t hi = (ms << 16) | 0x7000 | (a & 0x0FFF);
    uint64_t lo = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
    // 8-4-4-4-12 hex digits; three ids a call, so no format parser
    std::string id(36, '-');
    static constexpr char kHex[] = "0123456789abcdef";
    auto put = [&](size_t at, uint64_t v, int digits) {
        for (int i = digits - 1; i >= 0; --i, v >>= 4)
            id[at + static_cast<size_t>(i)] = kHex[v & 0xF];
    };
    put(0, hi >> 32, 8);
    put(9, (hi >> 16) & 0xFFFF, 4);
    put(14, hi & 0xFFFF, 4);
    put(19, lo >> 48, 4);
    put(24, lo & 0xFFFFFFFFFFFFull, 12);
    return id;
}

std::string iso_time(uint64_t us) {
    char buf[32];
    return std::string(format_iso_time(us, buf));
}

std::string call_start_entry(const Call &call, const RecordsConfig &config) {
    std::string out;
    out.reserve(512);
    JsonWriter w(out);
    w.begin_object();
    write_call_identity(w, call, config);
    w.field("start_us", call.started_us).end_object();
    return out;
}

std::string build_cdr(const Call &call, const RecordsConfig &config, const std::string &record_id, uint64_t end_us) {
    const Leg &ch = *call.channel;
    const Leg *routed = routed_leg(call);
    uint64_t answer_us = ch.answered_us;
    uint64_t duration_us = end_us - call.started_us;
    uint64_t billsec_us = answer_us ? end_us - answer_us : 0;

    std::vector<LegQuality> quality;
    std::vector<std::string> codecs;
    quality.reserve(call.legs.size());
    codecs.reserve(call.legs.size());
    const LegQuality *worst = nullptr; // the leg with the lowest MOS speaks for the call
    for (auto &leg : call.legs) {
        quality.push_back(leg_quality(*leg));
        codecs.push_back(leg_codec(*leg));
    }
    for (auto &q : quality)
        if (q.mos && (!worst || *q.mos < *worst->mos))
            worst = &q;
    LegQuality none;
    const LegQuality &call_quality = worst ? *worst : none;

    std::string out;
    out.reserve(1536 + 768 * call.legs.size());
    JsonWriter w(out);
    w.begin_object().field("kind", "cdr").field("id", record_id);
    write_call_identity(w, call, config);
    if (routed)
        w.field("routed_caller_num", routed->caller_num)
            .field("routed_called", std::string_view(routed->name).substr(routed->name.find('/') + 1))
            .field("destination", routed->name);
    else
        w.key("routed_caller_num").null().field("routed_called", ch.exten).key("destination").null();
    time_field(w, "start_time", call.started_us);
    time_field(w, "answer_time", answer_us);
    time_field(w, "end_time", end_us);
    w.field("start_us", call.started_us)
        .field("answer_us", answer_us)
        .field("end_us", end_us)
        .field("duration_us", duration_us)
        .field("billsec_us", billsec_us)
        .field("duration", ceil_seconds(duration_us))
        .field("billsec", ceil_seconds(billsec_us))
        .field("disposition", disposition(ch))
        .field("cause", ch.cause())
        .field("cause_name", cause_name(ch.cause()));
    sip_code_field(w, call, routed);
    w.field("hangup_side", hangup_side(call));
    w.field("codec", codecs.front()); // the channel's: legs start with it
    w.field("jitter_ms", call_quality.jitter_ms)
        .field("loss_pct", call_quality.loss_pct)
        .field("rtt_ms", call_quality.rtt_ms)
        .field("r_factor", call_quality.r_factor)
        .field("mos", call_quality.mos);
    var_field(w, "queue", ch, "queue");
    var_field(w, "agent", ch, "agent");
    w.key("recordings").begin_array();
    if (const std::string *files = var(ch, "recording_file"))
        for_each_listed(*files, [&](std::string_view f) { w.value(f); });
    w.end_array();
    w.key("variables").begin_object();
    for (auto &name : config.variables)
        if (const std::string *v = var(ch, name))
            w.field(name, *v);
    w.end_object();
    w.field("internal", driver_of(ch) == "local");
    w.key("legs").begin_array();
    for (size_t i = 0; i < call.legs.size(); ++i)
        write_leg(w, *call.legs[i], quality[i], codecs[i]);
    w.end_array();
    if (call.script && !call.script->last_error.empty())
        w.field("dialplan_error", call.script->last_error);
    w.end_object();
    return out;
}

std::string call_answer_entry(const Call &call) {
    std::string out;
    JsonWriter(out).begin_object().field("answer_us", call.channel->answered_us).end_object();
    return out;
}

json build_interrupted_cdr(const json &start, const std::string &record_id, uint64_t last_alive_us,
                           uint64_t answer_us) {
    auto time_or_null = [](uint64_t us) { return us ? json(iso_time(us)) : json(); };
    json cdr = start;
    uint64_t start_us = start.value("start_us", uint64_t(0));
    uint64_t end_us = std::max(last_alive_us, start_us);
    answer_us = answer_us ? std::clamp(answer_us, start_us, end_us) : 0;
    uint64_t billsec_us = answer_us ? end_us - answer_us : 0;
    cdr.update({{"kind", "cdr"},
                {"id", record_id},
                {"start_time", time_or_null(start_us)},
                {"answer_time", time_or_null(answer_us)},
                {"end_time", time_or_null(end_us)},
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

std::vector<RecordingRecord> recording_records(const Call &call, const RecordsConfig &config, uint64_t end_us,
                                               const std::string &described) {
    std::vector<RecordingRecord> out;
    const Leg &ch = *call.channel;
    const std::string *files = var(ch, "recording_file");
    if (!files)
        return out;
    for_each_listed(*files, [&](std::string_view file) {
        if (listed(described, file))
            return;
        std::string path(file);
        struct stat st {};
        RecordingRecord r{new_record_id(), {}};
        JsonWriter w(r.json);
        w.begin_object()
            .field("kind", "recording")
            .field("id", r.id)
            .field("call_id", call.id)
            .field("linked_id", call.linked_id)
            .field("tenant", config.tenant)
            .field("file", path);
        time_field(w, "start_time", ch.answered_us ? ch.answered_us : call.started_us);
        time_field(w, "end_time", end_us);
        if (::stat(path.c_str(), &st) == 0)
            w.field("bytes", static_cast<int64_t>(st.st_size));
        else
            w.key("bytes").null();
        w.end_object();
        out.push_back(std::move(r));
    });
    return out;
}

} // namespace tandem::records
