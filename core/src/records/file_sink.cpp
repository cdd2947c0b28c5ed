#include "records/file_sink.hpp"

#include "config/paths.hpp"
#include "log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

namespace tandem::records {

namespace {

constexpr size_t kTailBytes = 4u << 20; // more than one batch of records

std::string csv_field(const nlohmann::json &v) {
    std::string s;
    if (v.is_null())
        return s;
    s = v.is_string() ? v.get<std::string>() : v.dump();
    if (s.find_first_of(",\"\n\r") == std::string::npos)
        return s;
    std::string q = "\"";
    for (char c : s) {
        if (c == '"')
            q += '"';
        q += c;
    }
    return q + "\"";
}

off_t file_size(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? st.st_size : -1;
}

} // namespace

const std::vector<std::string> &FileSink::csv_columns(const std::string &kind) {
    static const std::map<std::string, std::vector<std::string>> columns = {
        {"cdr",
         {"id",          "call_id",      "linked_id",  "tenant",     "accountcode",  "caller_num",  "caller_name",
          "called_num",  "routed_caller_num", "routed_called", "source", "destination", "start_time", "answer_time",
          "end_time",    "duration",     "billsec",    "duration_us", "billsec_us",  "disposition", "cause",
          "cause_name",  "sip_code",     "hangup_side", "codec",      "jitter_ms",    "loss_pct",    "rtt_ms",
          "r_factor",    "mos",          "queue",      "agent",      "recordings",   "variables",   "internal"}},
        {"queue_log", {"id", "time", "call_id", "linked_id", "tenant", "queue", "agent", "event", "data"}},
        {"recording", {"id", "call_id", "linked_id", "tenant", "file", "start_time", "end_time", "bytes"}},
    };
    static const std::vector<std::string> generic = {"id", "call_id", "json"};
    auto it = columns.find(kind);
    return it == columns.end() ? generic : it->second;
}

struct FileSink::Output {
    int fd = -1;
    off_t size_before = 0;
    std::string buffer;
    ~Output() {
        if (fd >= 0)
            ::close(fd);
    }
};

FileSink::FileSink(std::string dir, std::string format) : dir_(std::move(dir)) {
    jsonl_ = format == "jsonl" || format == "both";
    csv_ = format == "csv" || format == "both";
    desc_.struct_size = sizeof desc_;
    desc_.name = "file";
    desc_.user = this;
    desc_.write = [](void *user, const tandem_record *r, size_t n) { return static_cast<FileSink *>(user)->write(r, n); };
}

bool FileSink::open(std::string &error) {
    if (!paths::make_dirs(dir_, error))
        return false;
    for (const char *kind : {"cdr", "queue_log", "recording"}) {
        if (jsonl_ && !load_tail_ids(dir_ + "/" + kind + ".jsonl", false))
            return error = "cannot read " + dir_ + "/" + kind + ".jsonl: " + std::strerror(errno), false;
        if (csv_ && !load_tail_ids(dir_ + "/" + kind + ".csv", true))
            return error = "cannot read " + dir_ + "/" + kind + ".csv: " + std::strerror(errno), false;
    }
    return true;
}

bool FileSink::load_tail_ids(const std::string &path, bool csv) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT;
    off_t size = file_size(fd);
    off_t from = size > off_t(kTailBytes) ? size - off_t(kTailBytes) : 0;
    std::string tail(static_cast<size_t>(size - from), '\0');
    bool ok = ::pread(fd, tail.data(), tail.size(), from) == ssize_t(tail.size());
    size_t last_nl = tail.rfind('\n');
    size_t keep = last_nl == std::string::npos ? 0 : last_nl + 1;
    if (ok && keep < tail.size() && (from == 0 || last_nl != std::string::npos)) {
        log::warning("records", "{}: cutting a torn last line ({} bytes)", path, tail.size() - keep);
        ok = ::ftruncate(fd, from + off_t(keep)) == 0;
        tail.resize(keep);
    }
    ::close(fd);
    size_t pos = 0;
    while (ok && pos < tail.size()) {
        size_t nl = tail.find('\n', pos);
        std::string line = tail.substr(pos, nl - pos);
        pos = nl + 1;
        if (csv) {
            recent_ids_.insert(line.substr(0, line.find(',')));
        } else {
            auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_object() && j.contains("id") && j["id"].is_string())
                recent_ids_.insert(j["id"].get<std::string>());
        }
    }
    return ok;
}

int FileSink::write(const tandem_record *records, size_t count) {
    std::map<std::string, Output> outputs; // by file name
    for (size_t i = 0; i < count; ++i) {
        const tandem_record &r = records[i];
        if (recent_ids_.count(r.id))
            continue;
        // JSON lines need no parse: every spooled record was checked to be
        // one JSON object when it was written (record_emit, the CDR builder).
        if (jsonl_)
            outputs[std::string(r.kind) + ".jsonl"].buffer.append(r.json, r.json_len).push_back('\n');
        if (csv_) {
            auto j = nlohmann::json::parse(std::string_view(r.json, r.json_len), nullptr, false);
            if (!j.is_object()) {
                log::error("records", "file sink: record {} is not a JSON object; skipped", r.id);
                continue;
            }
            std::string line;
            const auto &columns = csv_columns(r.kind);
            for (size_t c = 0; c < columns.size(); ++c) {
                const std::string &col = columns[c];
                line += c ? "," : "";
                line += col == "json" ? csv_field(std::string(r.json, r.json_len))
                                      : csv_field(j.contains(col) ? j[col] : nlohmann::json());
            }
            outputs[std::string(r.kind) + ".csv"].buffer.append(line).push_back('\n');
        }
    }
    bool ok = true;
    for (auto &[name, out] : outputs) {
        std::string path = dir_ + "/" + name;
        out.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (out.fd < 0) {
            log::warning("records", "file sink: cannot open {}: {}", path, std::strerror(errno));
            ok = false;
            break;
        }
        out.size_before = file_size(out.fd);
        if (out.size_before == 0 && name.ends_with(".csv")) {
            std::string header;
            for (auto &col : csv_columns(name.substr(0, name.size() - 4)))
                header += (header.empty() ? "" : ",") + col;
            out.buffer.insert(0, header + "\n");
        }
        if (::write(out.fd, out.buffer.data(), out.buffer.size()) != ssize_t(out.buffer.size()) ||
            ::fdatasync(out.fd) != 0) {
            log::warning("records", "file sink: cannot write {}: {}", path, std::strerror(errno));
            ok = false;
            break;
        }
    }
    if (!ok) {
        // All or nothing: the retry must not find half this batch already there.
        for (auto &[name, out] : outputs)
            if (out.fd >= 0 && ::ftruncate(out.fd, out.size_before) != 0)
                log::error("records", "file sink: cannot cut {} back: {}", name, std::strerror(errno));
        return TANDEM_ERROR;
    }
    return TANDEM_OK;
}

} // namespace tandem::records
