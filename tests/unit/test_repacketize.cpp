// Packets of another duration than the engine's 20 ms frames (ptime): the
// re-cutting of a byte-per-sample payload (tandem_rechunk) both ways, and
// the jitter buffer cutting G.711 packets of 10..60 ms into frames indexed
// by timestamp (tandem_jb_push_split). Every byte is its sample's number
// modulo 251, so a test sees exactly which samples came out where.
#include <tandem/rtp.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

namespace {

uint8_t sample_byte(uint32_t n) { return uint8_t(n % 251); }

std::vector<uint8_t> samples(uint32_t first, size_t n) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = sample_byte(first + uint32_t(i));
    return v;
}

struct Chunk {
    uint32_t ts;
    std::vector<uint8_t> data;
};

void collect(void *arg, uint32_t ts, const uint8_t *data, size_t len) {
    static_cast<std::vector<Chunk> *>(arg)->push_back({ts, std::vector<uint8_t>(data, data + len)});
}

// Pushes `count` inputs of `in` bytes each from timestamp `ts0` through a
// rechunker of `out` bytes; returns what came out.
std::vector<Chunk> recut(size_t in, size_t out, int count, uint32_t ts0) {
    tandem_rechunk r;
    tandem_rechunk_init(&r, out);
    std::vector<Chunk> got;
    for (int i = 0; i < count; ++i) {
        auto d = samples(uint32_t(i * in), in);
        tandem_rechunk_push(&r, ts0 + uint32_t(i * in), d.data(), d.size(), collect, &got);
    }
    return got;
}

void check_stream(const std::vector<Chunk> &got, size_t size, uint32_t ts0) {
    for (size_t k = 0; k < got.size(); ++k) {
        CHECK(got[k].data.size() == size);
        CHECK(got[k].ts == ts0 + uint32_t(k * size));
        CHECK(got[k].data == samples(uint32_t(k * size), size));
    }
}

} // namespace

TEST_CASE("frames and packets of 10 to 60 ms are cut into each other, timestamps following", "[ptime]") {
    struct Case {
        size_t in, out;
        int count;
        size_t chunks;
        uint32_t ts0;
    };
    const Case cases[] = {
        {160, 240, 9, 6, 1000},        // 20 ms frames into 30 ms packets
        {160, 80, 5, 10, 0},           // ... into 10 ms packets
        {160, 320, 6, 3, 0},           // ... into 40 ms packets
        {160, 480, 6, 2, 0},           // ... into 60 ms packets
        {240, 160, 10, 15, 0},         // 30 ms packets into 20 ms frames
        {80, 160, 10, 5, 0},           // 10 ms packets into 20 ms frames
        {160, 240, 6, 4, 0xFFFFFF00u}, // across the timestamp wrap, no splice
    };
    for (const auto &c : cases) {
        INFO(c.in << " -> " << c.out << " from " << c.ts0);
        auto got = recut(c.in, c.out, c.count, c.ts0);
        REQUIRE(got.size() == c.chunks);
        check_stream(got, c.out, c.ts0);
    }
}

TEST_CASE("a gap or a flush hands on what waits as a short chunk", "[ptime]") {
    tandem_rechunk r;
    tandem_rechunk_init(&r, 240);
    std::vector<Chunk> got;
    auto a = samples(0, 160);
    tandem_rechunk_push(&r, 0, a.data(), a.size(), collect, &got);
    CHECK(got.empty());
    auto b = samples(1000, 160); // not at 160: a loss in between
    tandem_rechunk_push(&r, 1000, b.data(), b.size(), collect, &got);
    REQUIRE(got.size() == 1);
    CHECK(got[0].ts == 0);
    CHECK(got[0].data == a);
    tandem_rechunk_flush(&r, collect, &got);
    REQUIRE(got.size() == 2);
    CHECK(got[1].ts == 1000);
    CHECK(got[1].data == b);
    tandem_rechunk_flush(&r, collect, &got); // nothing waits: nothing
    CHECK(got.size() == 2);
}

namespace {

// A sender of `packet` bytes every packet/8 ms into a buffer of `frame_ms`
// frames, played one frame per frame_ms; returns the bytes played and fills
// `results` with each pop's result. `lost` packets are not sent; `swap`
// sends packet k+1 before k for every k in it.
std::vector<uint8_t> play(tandem_jb &jb, uint32_t packet, int packets, uint32_t frame_ms, uint32_t ts0,
                          const std::vector<int> &lost, const std::vector<int> &swap,
                          std::vector<tandem_jb_result> *results = nullptr) {
    std::vector<uint8_t> out;
    uint32_t packet_us = packet * 125, frame_us = frame_ms * 1000;
    uint64_t end = uint64_t(packets) * packet_us + 300000;
    auto in = [&](int k) { return std::find(lost.begin(), lost.end(), k) == lost.end(); };
    auto swapped = [&](int k) { return std::find(swap.begin(), swap.end(), k) != swap.end(); };
    int next = 0;
    for (uint64_t now = 0; now < end; now += frame_us) {
        while (next < packets && uint64_t(next) * packet_us <= now) {
            int k = next;
            if (swapped(k) && k + 1 < packets) { // k+1 first, then k
                for (int j : {k + 1, k})
                    if (in(j)) {
                        auto d = samples(uint32_t(j) * packet, packet);
                        tandem_jb_push_split(&jb, ts0 + uint32_t(j) * packet, d.data(), d.size(), now);
                    }
                next += 2;
                continue;
            }
            if (in(k)) {
                auto d = samples(uint32_t(k) * packet, packet);
                REQUIRE(tandem_jb_push_split(&jb, ts0 + uint32_t(k) * packet, d.data(), d.size(), now) == 0);
            }
            next++;
        }
        uint8_t buf[TANDEM_JB_MAX_FRAME];
        size_t len = 0;
        auto r = tandem_jb_pop(&jb, buf, sizeof buf, &len);
        if (results) results->push_back(r);
        out.insert(out.end(), buf, buf + len);
    }
    return out;
}

} // namespace

TEST_CASE("30 ms packets play as 10 ms frames at the sender's rate, every sample once", "[ptime][jb]") {
    tandem_jb jb;
    tandem_jb_init(&jb, TANDEM_JB_PCMU, 8000, 10, 40, 200);
    CHECK(tandem_jb_frame_bytes(&jb) == 80);
    auto out = play(jb, 240, 100, 10, 12345, {}, {}); // 3 s
    CHECK(jb.stats.played == 300);
    CHECK(jb.stats.dropped == 0);
    CHECK(jb.stats.concealed == 3); // only the underrun after the last packet
    REQUIRE(out.size() == 240u * 100 + 3 * 80);
    CHECK(std::vector<uint8_t>(out.begin(), out.begin() + 24000) == samples(0, 24000));
}

TEST_CASE("60 ms packets play as 20 ms frames; a reordered pair is sorted", "[ptime][jb]") {
    tandem_jb jb;
    tandem_jb_init(&jb, TANDEM_JB_PCMU, 8000, 20, 40, 200);
    auto out = play(jb, 480, 50, 20, 0xFFFFF000u, {}, {10, 30}); // across the timestamp wrap
    CHECK(jb.stats.late == 0);
    CHECK(jb.stats.dropped == 0);
    REQUIRE(out.size() >= 480u * 49);
    CHECK(std::vector<uint8_t>(out.begin(), out.begin() + 480 * 49) == samples(0, 480 * 49));
}

TEST_CASE("a lost 30 ms packet is three concealed 10 ms frames, the rest in place", "[ptime][jb]") {
    tandem_jb jb;
    tandem_jb_init(&jb, TANDEM_JB_PCMU, 8000, 10, 40, 200);
    std::vector<tandem_jb_result> results;
    auto out = play(jb, 240, 50, 10, 0, {20}, {}, &results);
    CHECK(jb.stats.concealed == 3 + 3); // the lost packet, and the underrun after the last
    CHECK(jb.stats.played == 3 * 49);
    REQUIRE(out.size() == 240u * 50 + 3 * 80);
    // before and after the loss, every sample where it belongs
    CHECK(std::vector<uint8_t>(out.begin(), out.begin() + 240 * 20) == samples(0, 240 * 20));
    CHECK(std::vector<uint8_t>(out.begin() + 240 * 21, out.begin() + 240 * 50) == samples(240 * 21, 240 * 29));
}

TEST_CASE("a packet that is not whole frames is refused; the target holds a packet", "[ptime][jb]") {
    tandem_jb jb;
    tandem_jb_init(&jb, TANDEM_JB_PCMU, 8000, 20, 40, 200);
    auto d = samples(0, 480);
    CHECK(tandem_jb_push_split(&jb, 0, d.data(), 240, 0) == -1); // 30 ms in 20 ms frames
    CHECK(tandem_jb_push_split(&jb, 0, d.data(), 480, 0) == 0);
    CHECK(tandem_jb_depth(&jb) == 3);
    CHECK(jb.target_frames >= 3);
    CHECK(tandem_jb_push_split(&jb, 0, d.data(), 480, 1000) == 1); // a duplicate
}
