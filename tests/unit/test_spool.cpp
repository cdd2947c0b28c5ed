// The record spool's framing, checksum, torn-tail repair and replay, on
// real files in a temp directory.
#include "records/crc32c.hpp"
#include "records/frame.hpp"
#include "records/quality.hpp"
#include "records/shipper.hpp"
#include "records/spool.hpp"

#include "audio_test_util.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

using namespace tandem::records;
using tandem::test::TempDir;

namespace {

SpoolRecord rec(const std::string &id, const std::string &call = "", const std::string &kind = "cdr") {
    return {kind, id, call, R"({"id":")" + id + R"(","n":1})"};
}

std::vector<SpoolRecord> read_all(Spool &spool) {
    SegmentReader reader(spool.dir());
    std::vector<SpoolRecord> out;
    reader.read(spool.first(), spool.durable(), 1000000, out);
    return out;
}

std::string file_bytes(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

} // namespace

TEST_CASE("CRC-32C matches the standard check value") {
    CHECK(crc32c("123456789", 9) == 0xE3069283u);
    CHECK(crc32c("", 0) == 0u);
    CHECK(crc32c_portable("123456789", 9) == 0xE3069283u);
}

TEST_CASE("CRC-32C gives the table's values at every length, offset and seed") {
    std::string bytes;
    uint32_t x = 12345;
    for (int i = 0; i < 300; ++i) {
        x = x * 1103515245u + 12345u;
        bytes.push_back(static_cast<char>(x >> 16));
    }
    for (size_t offset = 0; offset < 8; ++offset)
        for (size_t size = 0; offset + size <= bytes.size(); size += 7) {
            INFO("offset " << offset << " size " << size);
            CHECK(crc32c(bytes.data() + offset, size) == crc32c_portable(bytes.data() + offset, size));
            CHECK(crc32c(bytes.data() + offset, size, 0xDEADBEEF) ==
                  crc32c_portable(bytes.data() + offset, size, 0xDEADBEEF));
        }
    // a checksum continued over a split buffer is the checksum of the whole
    CHECK(crc32c(bytes.data() + 13, 200, crc32c(bytes.data(), 13)) == crc32c(bytes.data(), 213));
}

TEST_CASE("a spool frame round-trips and any flipped byte is caught") {
    std::string frame;
    REQUIRE(encode_frame({"cdr", "id-1", "call-1", R"({"a":"b\\n"})"}, frame));
    SpoolRecord r;
    size_t size = 0;
    REQUIRE(decode_frame(frame, r, size) == FrameStatus::ok);
    CHECK(size == frame.size());
    CHECK(r.kind == "cdr");
    CHECK(r.id == "id-1");
    CHECK(r.call_id == "call-1");
    CHECK(r.json == R"({"a":"b\\n"})");
    for (size_t i = 0; i < frame.size(); ++i) {
        std::string bad = frame;
        bad[i] = static_cast<char>(bad[i] ^ 0x20);
        FrameStatus s = decode_frame(bad, r, size);
        CHECK(s != FrameStatus::ok); // length bytes turn torn/corrupt, the rest corrupt
    }
    for (size_t cut = 0; cut < frame.size(); ++cut)
        CHECK(decode_frame(std::string_view(frame).substr(0, cut), r, size) == FrameStatus::torn);
    std::string ignored;
    CHECK_FALSE(encode_frame({"cdr", "a\nb", "", "{}"}, ignored)); // a newline would break the payload
    CHECK_FALSE(encode_frame({"", "x", "", "{}"}, ignored));
}

TEST_CASE("records appended become durable, survive reopening and are read in order") {
    TempDir dir;
    SpoolOptions opts{dir.path().string(), 5, 1000, 1u << 20};
    {
        Spool spool;
        SpoolRecovery rec0;
        std::string error;
        REQUIRE(spool.open(opts, rec0, error));
        spool.start();
        for (int i = 0; i < 100; ++i)
            REQUIRE(spool.append(rec("r" + std::to_string(i)), error));
        spool.stop();
        auto all = read_all(spool);
        REQUIRE(all.size() == 100);
        CHECK(all[0].id == "r0");
        CHECK(all[99].id == "r99");
    }
    Spool again;
    SpoolRecovery recovery;
    std::string error;
    REQUIRE(again.open(opts, recovery, error));
    CHECK(recovery.records == 100);
    CHECK(recovery.truncated_bytes == 0);
    CHECK(read_all(again).size() == 100); // the new empty segment follows the old one
}

// How often the commit thread ("tandem-spool") has gone to sleep and woken.
static long spool_thread_wakeups() {
    for (auto &task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        if (!std::getline(comm, name) || name != "tandem-spool")
            continue;
        std::ifstream status(task.path() / "status");
        for (std::string line; std::getline(status, line);)
            if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
                return std::stol(line.substr(line.find(':') + 1));
    }
    return -1;
}

TEST_CASE("an idle spool's committer sleeps, and the first record wakes it") {
    TempDir dir;
    SpoolOptions opts{dir.path().string(), 10, 1000, 1u << 20};
    Spool spool;
    SpoolRecovery recovery;
    std::string error;
    REQUIRE(spool.open(opts, recovery, error));
    spool.start(); // its first heartbeat is now, the next one in a second
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    long before = spool_thread_wakeups();
    REQUIRE(before >= 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    CHECK(spool_thread_wakeups() - before <= 2); // not one per 10 ms commit interval (25)

    // Well before the next heartbeat: only the record itself can wake it.
    SpoolPos before_append = spool.durable();
    auto appended = std::chrono::steady_clock::now();
    REQUIRE(spool.append(rec("first"), error));
    spool.wait_durable_beyond(before_append, std::chrono::milliseconds(2000));
    CHECK(spool.durable() > before_append);
    CHECK(std::chrono::steady_clock::now() - appended < std::chrono::milliseconds(400));
    spool.stop();
}

TEST_CASE("segments rotate at the configured size and are released behind every checkpoint") {
    TempDir dir;
    SpoolOptions opts{dir.path().string(), 5, 1000, 4096};
    Spool spool;
    SpoolRecovery recovery;
    std::string error;
    REQUIRE(spool.open(opts, recovery, error));
    spool.start();
    for (int i = 0; i < 600; ++i)
        REQUIRE(spool.append(rec("r" + std::to_string(i)), error));
    spool.stop();
    CHECK(spool.segment_count() > 3);
    auto all = read_all(spool);
    REQUIRE(all.size() == 600);
    // Read in two steps across segment boundaries: nothing lost, nothing twice.
    SegmentReader reader(spool.dir());
    std::vector<SpoolRecord> part;
    SpoolPos mid = reader.read(spool.first(), spool.durable(), 300, part);
    reader.read(mid, spool.durable(), 1000, part);
    REQUIRE(part.size() == 600);
    CHECK(part[300].id == "r300");
    REQUIRE(mid.segment > 1);
    spool.release_before(mid);
    CHECK(spool.first().segment == mid.segment);
    std::vector<SpoolRecord> rest;
    reader.read(spool.first(), spool.durable(), 1000, rest);
    CHECK(rest.size() >= 600 - 300);
    CHECK(rest.size() < 600);
    CHECK(rest.back().id == "r599");
}

TEST_CASE("an open call keeps its start's segment until its record is written") {
    TempDir dir;
    SpoolOptions opts{dir.path().string(), 5, 1000, 4096};
    Spool spool;
    SpoolRecovery recovery;
    std::string error;
    REQUIRE(spool.open(opts, recovery, error));
    spool.start();
    REQUIRE(spool.append(rec("a-start", "call-a", "call_start"), error));
    REQUIRE(spool.append(rec("b-start", "call-b", "call_start"), error)); // the same segment, twice pinned
    uint64_t start_segment = spool.first().segment;
    for (int i = 0; i < 600; ++i)
        REQUIRE(spool.append(rec("r" + std::to_string(i)), error));
    REQUIRE(spool.append(rec("c-start", "call-c", "call_start"), error)); // a later segment
    spool.wait_durable_beyond(spool.durable(), std::chrono::seconds(5));
    REQUIRE(spool.durable().segment > start_segment + 2);
    spool.release_before(spool.durable());
    CHECK(spool.first().segment == start_segment); // calls a and b hold it
    REQUIRE(spool.append(rec("a-cdr", "call-a"), error));
    spool.release_before(spool.durable());
    CHECK(spool.first().segment == start_segment); // b still does
    REQUIRE(spool.append(rec("b-cdr", "call-b"), error));
    spool.release_before(spool.durable());
    CHECK(spool.first().segment > start_segment + 1); // only c's, the last, is held now
    spool.stop();
}

TEST_CASE("segments are allocated whole, read up to their records, and cut to them when closed") {
    TempDir dir;
    SpoolOptions opts{dir.path().string(), 5, 1000, 4096};
    SpoolRecord big = rec("big");
    big.json = R"({"pad":")" + std::string(10000, 'x') + R"("})"; // larger than a segment
    {
        Spool spool;
        SpoolRecovery recovery;
        std::string error;
        REQUIRE(spool.open(opts, recovery, error));
        spool.start();
        REQUIRE(spool.append(rec("small"), error));
        spool.wait_durable_beyond({spool.durable().segment, kSegmentMagic.size()}, std::chrono::seconds(5));
        std::string open_seg = segment_path(opts.dir, spool.durable().segment);
        CHECK(file_bytes(open_seg).size() == 4096); // allocated whole: the rest is zeros
        REQUIRE(read_all(spool).size() == 1);       // and not read as records
        REQUIRE(spool.append(big, error));
        REQUIRE(spool.append(rec("after"), error));
        spool.stop();
        auto all = read_all(spool);
        REQUIRE(all.size() == 3);
        CHECK(all[1].json == big.json);
        CHECK(all[2].id == "after");
    }
    auto segments = list_segments(opts.dir);
    CHECK(segments.size() == 3);
    for (uint64_t seg : segments) {
        std::string bytes = file_bytes(segment_path(opts.dir, seg));
        std::string why;
        INFO("segment " << seg);
        CHECK(scan_segment(bytes, [](SpoolRecord &&) {}, why) == bytes.size()); // records to the last byte
    }
}

TEST_CASE("a torn, corrupt or unwritten tail is cut off on open and the records before it stay") {
    TempDir dir;
    SpoolOptions opts{dir.path().string(), 5, 1000, 1u << 20};
    std::string seg;
    {
        Spool spool;
        SpoolRecovery r0;
        std::string error;
        REQUIRE(spool.open(opts, r0, error));
        spool.start();
        for (int i = 0; i < 10; ++i)
            REQUIRE(spool.append(rec("r" + std::to_string(i)), error));
        spool.stop();
        seg = segment_path(opts.dir, spool.durable().segment);
    }
    std::string good = file_bytes(seg);
    bool damage = true; // logged and counted; the allocated rest of a segment is not
    SECTION("torn: half a frame at the end") {
        std::string frame;
        encode_frame(rec("half"), frame);
        std::ofstream(seg, std::ios::binary | std::ios::app) << frame.substr(0, frame.size() / 2);
    }
    SECTION("corrupt: a whole frame with a flipped payload byte") {
        std::string frame;
        encode_frame(rec("flipped"), frame);
        frame[frame.size() - 3] ^= 1;
        std::ofstream(seg, std::ios::binary | std::ios::app) << frame;
    }
    SECTION("zeros: the allocated rest of a segment the engine never closed (a crash)") {
        std::ofstream(seg, std::ios::binary | std::ios::app) << std::string(64, '\0');
        damage = false;
    }
    SECTION("zeros after half a frame: a copy cut short") {
        std::string frame;
        encode_frame(rec("half"), frame);
        std::ofstream(seg, std::ios::binary | std::ios::app) << frame.substr(0, frame.size() / 2)
                                                             << std::string(64, '\0');
    }
    Spool spool;
    SpoolRecovery recovery;
    std::string error;
    REQUIRE(spool.open(opts, recovery, error));
    CHECK(recovery.records == 10);
    CHECK((recovery.truncated_bytes > 0) == damage);
    CHECK(file_bytes(seg) == good);
    CHECK(read_all(spool).size() == 10);
}

TEST_CASE("a call start (and answer) without its record is reported as unfinished on open") {
    TempDir dir;
    SpoolOptions opts{dir.path().string(), 5, 1000, 1u << 20};
    {
        Spool spool;
        SpoolRecovery r0;
        std::string error;
        REQUIRE(spool.open(opts, r0, error));
        spool.start();
        REQUIRE(spool.append(rec("s1", "call-1", "call_start"), error));
        REQUIRE(spool.append(rec("s2", "call-2", "call_start"), error));
        REQUIRE(spool.append(rec("a1", "call-1", "call_answer"), error));
        REQUIRE(spool.append(rec("a2", "call-2", "call_answer"), error));
        REQUIRE(spool.append(rec("c1", "call-1", "cdr"), error));
        spool.stop();
    }
    Spool spool;
    SpoolRecovery recovery;
    std::string error;
    REQUIRE(spool.open(opts, recovery, error));
    REQUIRE(recovery.unfinished_starts.size() == 1);
    CHECK(recovery.unfinished_starts[0].call_id == "call-2");
    REQUIRE(recovery.unfinished_answers.size() == 1); // an answer does not close the journal entry
    CHECK(recovery.unfinished_answers.begin()->second.id == "a2");
    CHECK(recovery.last_alive_us > 0);
}

TEST_CASE("an unwritable spool directory is reported, not crashed on") {
    TempDir dir;
    std::string file = dir.file("not-a-dir");
    std::ofstream(file) << "x";
    Spool spool;
    SpoolRecovery recovery;
    std::string error;
    CHECK_FALSE(spool.open({file, 5, 100, 1u << 20}, recovery, error));
    CHECK_FALSE(error.empty());
    CHECK_FALSE(spool.healthy());
    CHECK_FALSE(spool.append(rec("x"), error)); // held in memory, reported
}

TEST_CASE("checkpoints parse only their own format") {
    TempDir dir;
    SpoolPos pos;
    std::ofstream(dir.file("ok.pos")) << "3 4096\n";
    REQUIRE(read_checkpoint(dir.file("ok.pos"), pos));
    CHECK(pos == SpoolPos{3, 4096});
    std::ofstream(dir.file("bad.pos")) << "garbage";
    CHECK_FALSE(read_checkpoint(dir.file("bad.pos"), pos));
    CHECK_FALSE(read_checkpoint(dir.file("missing.pos"), pos));
}

TEST_CASE("the E-model estimate ranks a clean call above a lossy, late one") {
    auto clean = estimate_quality({0.5, 0.0, 20.0});
    auto bad = estimate_quality({40.0, 10.0, 400.0});
    REQUIRE(clean);
    REQUIRE(bad);
    CHECK(clean->r_factor == Approx(93.2 - 21.0 / 40)); // delay 20/2 + 2*0.5 + 10 = 21 ms (docs/records.md)
    CHECK(clean->mos > 4.3);
    CHECK(bad->mos < 3.0);
    CHECK_FALSE(estimate_quality({std::nullopt, std::nullopt, 30.0}));
}
