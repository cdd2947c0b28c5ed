// The adaptive jitter buffer of Tandem's RTP stack (<tandem/rtp.h>): order,
// loss concealment, late packets, bursts, clock drift, depth adaptation.
// Frames carry their sequence number in the first byte so each test can
// tell exactly what was played.
#include <tandem/rtp.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <vector>

namespace {

constexpr size_t kFrame = 160; // 20 ms of G.711

struct Buffer {
    tandem_jb jb{};
    explicit Buffer(uint32_t min_ms = 40, uint32_t max_ms = 200, tandem_jb_codec codec = TANDEM_JB_PCMU) {
        tandem_jb_init(&jb, codec, 8000, 20, min_ms, max_ms);
    }
    int push(uint16_t seq, uint64_t at_us, uint8_t fill = 0) {
        std::vector<uint8_t> f(kFrame, fill ? fill : uint8_t(seq));
        f[0] = uint8_t(seq);
        return tandem_jb_push(&jb, seq, uint32_t(seq) * 160u, f.data(), f.size(), at_us);
    }
    // one tick: the result and the first byte played (-1 none)
    std::pair<tandem_jb_result, int> pop() {
        uint8_t out[TANDEM_JB_MAX_FRAME];
        size_t len = 0;
        auto r = tandem_jb_pop(&jb, out, sizeof out, &len);
        return {r, len ? int(out[0]) : -1};
    }
};

} // namespace

TEST_CASE("the buffer fills to its minimum depth, then plays in order", "[jb]") {
    Buffer b;
    b.push(10, 0);
    CHECK(b.pop().first == TANDEM_JB_NONE); // 1 frame < 40 ms
    b.push(11, 20000);
    auto p = b.pop();
    CHECK(p.first == TANDEM_JB_FRAME);
    CHECK(p.second == 10);
    CHECK(b.pop().second == 11);
}

TEST_CASE("reordered packets are played in sequence order", "[jb]") {
    Buffer b;
    uint16_t order[] = {1, 3, 2, 5, 4, 6, 8, 7, 9, 10, 11, 12};
    std::vector<int> played;
    for (int i = 0; i < 12; ++i) { // one packet in, one tick out
        b.push(order[i], 20000u * i);
        auto p = b.pop();
        if (p.first != TANDEM_JB_NONE)
            played.push_back(p.second);
    }
    CHECK(played == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    CHECK(b.jb.stats.concealed == 0);
}

TEST_CASE("a lost G.711 frame is concealed from the previous one, fading", "[jb]") {
    Buffer b;
    b.push(1, 0, 0x20);
    b.push(2, 20000, 0x20);
    b.push(4, 60000, 0x20); // 3 is lost
    b.push(5, 80000, 0x20);
    CHECK(b.pop().second == 1);
    CHECK(b.pop().second == 2);
    uint8_t out[TANDEM_JB_MAX_FRAME];
    size_t len = 0;
    REQUIRE(tandem_jb_pop(&b.jb, out, sizeof out, &len) == TANDEM_JB_CONCEALED);
    REQUIRE(len == kFrame);
    // quieter than the frame it repeats, but not silent
    int16_t before = tandem_ulaw_decode(0x20), after = tandem_ulaw_decode(out[5]);
    CHECK(std::abs(after) < std::abs(before));
    CHECK(std::abs(after) > std::abs(before) / 2);
    CHECK(b.pop().second == 4);
    CHECK(b.jb.stats.concealed == 1);
}

TEST_CASE("other codecs get a LOST tick to conceal in their decoder", "[jb]") {
    Buffer b(40, 200, TANDEM_JB_OPAQUE);
    b.push(1, 0);
    b.push(3, 20000);
    size_t len = 0;
    CHECK(tandem_jb_peek(&b.jb, &len) == nullptr); // not playing yet
    CHECK(b.pop().first == TANDEM_JB_FRAME);
    CHECK(b.pop().first == TANDEM_JB_LOST);
    // the packet after the lost one is already here: its FEC can rebuild it
    const uint8_t *next = tandem_jb_peek(&b.jb, &len);
    REQUIRE(next);
    CHECK(next[0] == 3);
    CHECK(len == kFrame);
    CHECK(b.pop().second == 3);
    CHECK(tandem_jb_peek(&b.jb, &len) == nullptr);
    CHECK(len == 0);
}

TEST_CASE("a packet after its turn is dropped as late, duplicates once", "[jb]") {
    Buffer b;
    b.push(1, 0);
    b.push(2, 20000);
    b.push(4, 40000);
    CHECK(b.pop().second == 1);
    CHECK(b.pop().second == 2);
    CHECK(b.pop().first == TANDEM_JB_CONCEALED); // 3 is given up on
    CHECK(b.push(3, 70000) == 1);                 // ... and arrives too late
    CHECK(b.push(4, 70000) == 1);                 // a duplicate
    CHECK(b.jb.stats.late == 1);
    CHECK(b.jb.stats.duplicates == 1);
    CHECK(b.pop().second == 4);
}

TEST_CASE("a burst after a stall is absorbed without losing frames", "[jb]") {
    Buffer b(40, 200);
    uint64_t t = 0;
    uint16_t seq = 0;
    std::vector<int> played;
    for (; seq < 10; ++seq, t += 20000) {
        b.push(seq, t);
        auto p = b.pop();
        if (p.first == TANDEM_JB_FRAME)
            played.push_back(p.second);
    }
    // the network stalls 100 ms (playout goes on), then 5 frames arrive at once
    for (int i = 0; i < 5; ++i) {
        auto p = b.pop();
        if (p.first == TANDEM_JB_FRAME)
            played.push_back(p.second);
    }
    t += 100000;
    for (int i = 0; i < 5; ++i, ++seq)
        b.push(seq, t);
    for (int i = 0; i < 8; ++i) {
        auto p = b.pop();
        if (p.first == TANDEM_JB_FRAME)
            played.push_back(p.second);
    }
    CHECK(played.size() >= 14); // at most the oldest frame is shed to keep the delay
    CHECK(played.front() == 0);
    CHECK(played.back() == 14);
    CHECK(b.jb.stats.late == 0);
    CHECK(b.jb.target_frames > b.jb.min_frames); // the jitter raised the depth
}

TEST_CASE("the depth adapts to measured jitter within its bounds", "[jb]") {
    Buffer calm(40, 200), rough(40, 200);
    for (int i = 0; i < 200; ++i) {
        calm.push(uint16_t(i), 20000u * i);
        rough.push(uint16_t(i), 20000u * i + (i % 2) * 30000u); // +-30 ms
        calm.pop();
        rough.pop();
    }
    CHECK(calm.jb.target_frames == 2);
    CHECK(rough.jb.target_frames > 4);
    CHECK(rough.jb.target_frames <= 10); // 200 ms
    CHECK(tandem_jb_jitter_ms(&rough.jb) > 20);
}

TEST_CASE("clock drift: a fast sender loses a frame now and then, a slow one is bridged", "[jb]") {
    SECTION("sender 2% fast") {
        Buffer b;
        int played = 0;
        uint64_t t = 0;
        for (int i = 0; i < 1000; ++i) {
            b.push(uint16_t(i), t);
            t += 19600; // packets every 19.6 ms, playout every 20
            if (i % 50 != 49)
                played += b.pop().first == TANDEM_JB_FRAME;
        }
        CHECK(tandem_jb_depth(&b.jb) <= int(b.jb.target_frames) + 3); // bounded delay
        CHECK(b.jb.stats.dropped > 0);
        CHECK(played > 900);
    }
    SECTION("sender 2% slow") {
        Buffer b;
        int concealed = 0, frames = 0;
        uint64_t t = 0;
        for (int i = 0; i < 1000; ++i) {
            b.push(uint16_t(i), t);
            t += 20400;
            auto r = b.pop().first;
            frames += r == TANDEM_JB_FRAME;
            concealed += r == TANDEM_JB_CONCEALED;
            if (i % 50 == 49) { // the playout clock gains a tick
                r = b.pop().first;
                frames += r == TANDEM_JB_FRAME;
                concealed += r == TANDEM_JB_CONCEALED;
            }
        }
        CHECK(frames >= 995); // nothing the sender sent is thrown away ...
        CHECK(b.jb.stats.late == 0);
        CHECK(concealed > 0); // ... the missing time is concealed
    }
}

TEST_CASE("a sequence jump restarts the buffer instead of waiting forever", "[jb]") {
    Buffer b;
    b.push(1, 0);
    b.push(2, 20000);
    CHECK(b.pop().second == 1);
    b.push(30000, 40000);
    b.push(30001, 60000);
    CHECK(b.jb.stats.resyncs == 1);
    CHECK(b.pop().second == uint8_t(30000));
}

TEST_CASE("oversized frames are refused", "[jb]") {
    Buffer b;
    std::vector<uint8_t> big(TANDEM_JB_MAX_FRAME + 1);
    CHECK(tandem_jb_push(&b.jb, 1, 0, big.data(), big.size(), 0) == -1);
}

TEST_CASE("while buffering, an earlier packet starts the stream earlier, within the ring", "[jb]") {
    Buffer b(60, 200); // 3 frames before playing
    b.push(100, 0);
    b.push(99, 1000); // reordered before playout started: it plays first
    b.push(100 - TANDEM_JB_SLOTS, 2000); // too far back for the ring: dropped
    CHECK(b.jb.stats.late == 1);
    b.push(101, 20000);
    CHECK(b.pop().second == 99);
    CHECK(b.pop().second == 100);
    CHECK(b.pop().second == 101);
}
