// The shared stream under music on hold: the feeder's look-ahead limit, what
// readers get for each period, a starved feeder, closing, the directory.
#include "media/shared_stream.hpp"

#include <catch2/catch.hpp>

#include <thread>
#include <vector>

using tandem::media::SharedStream;
using tandem::media::StreamDirectory;

namespace {

std::vector<int16_t> ramp(size_t n, int16_t start) {
    std::vector<int16_t> v(n);
    for (size_t i = 0; i < n; ++i)
        v[i] = static_cast<int16_t>(start + static_cast<int16_t>(i % 1000));
    return v;
}

} // namespace

TEST_CASE("a shared stream takes at most 200 ms ahead and gives every reader the same frame", "[moh]") {
    SharedStream s("t", 8000, "test");
    REQUIRE(s.frame_samples() == 160);
    auto pcm = ramp(160 * 30, 1);
    const uint64_t now = s.current_index();
    size_t taken = s.write(pcm.data(), pcm.size());
    // kLead frames from the current period on; the rest is for later
    CHECK(taken >= 160 * SharedStream::kLead);
    CHECK(taken <= 160 * (SharedStream::kLead + 1));
    CHECK(s.write(pcm.data() + taken, pcm.size() - taken) <= 160);

    std::vector<int16_t> a(160), b(160);
    REQUIRE(s.read(now, a.data()));
    REQUIRE(s.read(now, b.data()));
    CHECK(a == b);
    CHECK(std::equal(a.begin(), a.end(), pcm.begin()));
    REQUIRE(s.read(now + 3, a.data()));
    CHECK(std::equal(a.begin(), a.end(), pcm.begin() + 3 * 160));
    CHECK_FALSE(s.read(now + SharedStream::kLead + 5, a.data())); // not written yet

    s.close();
    CHECK(s.closed());
    CHECK_FALSE(s.read(now, a.data()));
}

TEST_CASE("a starved feeder starts again at the current period", "[moh]") {
    SharedStream s("t", 16000, "test");
    auto pcm = ramp(320, 7);
    REQUIRE(s.write(pcm.data(), pcm.size()) == 320);
    const uint64_t first = s.current_index();
    std::this_thread::sleep_for(std::chrono::milliseconds(120)); // 6 periods without a write
    const uint64_t later = s.current_index();
    REQUIRE(later >= first + 5);
    REQUIRE(s.write(pcm.data(), pcm.size()) == 320);
    std::vector<int16_t> out(320);
    // the new frame is the current period's (the clock may have just moved
    // on), not the one after the old frame
    CHECK((s.read(later, out.data()) || s.read(later + 1, out.data())));
    CHECK_FALSE(s.read(first + 1, out.data()));
}

TEST_CASE("the stream directory refuses a taken name and a bad rate, and closes a module's streams", "[moh]") {
    StreamDirectory d;
    std::string error;
    auto s = d.open("default", 8000, "moh", error);
    REQUIRE(s);
    CHECK_FALSE(d.open("default", 8000, "other", error));
    CHECK(error.find("already open") != std::string::npos);
    CHECK_FALSE(d.open("odd", 11025, "moh", error));
    CHECK(error.find("11025") != std::string::npos);
    auto wide = d.open("wide", 48000, "moh", error);
    REQUIRE(wide);
    CHECK(wide->frame_samples() == 960);
    CHECK(d.find("default") == s);
    d.close_owned_by("moh");
    CHECK(s->closed());
    CHECK_FALSE(d.find("default"));
    CHECK_FALSE(d.find("wide"));
    CHECK(d.open("default", 8000, "moh", error)); // the name is free again
}
