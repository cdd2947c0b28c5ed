#include "media/mix.hpp"
#include "runtime/mix_link.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <thread>
#include <vector>

using namespace tandem;
using namespace tandem::media;

TEST_CASE("mix-minus: each listener hears the others, not itself", "[mix]") {
    std::vector<int16_t> a = {100, -200, 300}, b = {10, 20, 30}, c = {-1, -2, -3};
    std::vector<int32_t> acc(3, 0);
    for (auto *in : {&a, &b, &c})
        mix_add(acc.data(), in->data(), 3);
    std::vector<int16_t> out(3);
    mix_out(out.data(), acc.data(), a.data(), nullptr, 3);
    CHECK(out == std::vector<int16_t>{9, 18, 27});
    mix_out(out.data(), acc.data(), nullptr, nullptr, 3); // a listener who does not speak hears everybody
    CHECK(out == std::vector<int16_t>{109, -182, 327});
    mix_out(out.data(), acc.data(), b.data(), c.data(), 3); // plus a whisper
    CHECK(out == std::vector<int16_t>{98, -204, 294});
}

TEST_CASE("mixing saturates instead of wrapping round", "[mix]") {
    std::vector<int16_t> loud = {30000, -30000, 20000}, louder = {30000, -30000, -20000};
    std::vector<int32_t> acc(3, 0);
    mix_add(acc.data(), loud.data(), 3);
    mix_add(acc.data(), louder.data(), 3);
    mix_add(acc.data(), loud.data(), 3);
    std::vector<int16_t> out(3);
    mix_out(out.data(), acc.data(), nullptr, nullptr, 3);
    CHECK(out == std::vector<int16_t>{32767, -32768, 20000});
    mix_out(out.data(), acc.data(), loud.data(), loud.data(), 3); // whisper on top of a full mix
    CHECK(out == std::vector<int16_t>{32767, -32768, 20000});
}

TEST_CASE("a frame ring hands frames between two threads in order, refusing when full", "[mix]") {
    FrameRing ring;
    for (uint32_t i = 0; i < FrameRing::kSlots; ++i) {
        Frame *f = ring.begin_push();
        REQUIRE(f);
        f->samples = i;
        ring.commit_push();
    }
    CHECK(ring.begin_push() == nullptr);
    CHECK(ring.size() == FrameRing::kSlots);
    for (uint32_t i = 0; i < FrameRing::kSlots; ++i) {
        REQUIRE(ring.front());
        CHECK(ring.front()->samples == i);
        ring.pop();
    }
    CHECK(ring.front() == nullptr);

    constexpr uint32_t kFrames = 100000;
    std::thread producer([&] {
        for (uint32_t i = 0; i < kFrames;) {
            if (Frame *f = ring.begin_push()) {
                f->samples = i++;
                f->pcm()[0] = static_cast<int16_t>(i);
                ring.commit_push();
            }
        }
    });
    uint32_t next = 0;
    bool in_order = true;
    while (next < kFrames) {
        if (const Frame *f = ring.front()) {
            in_order = in_order && f->samples == next && f->pcm()[0] == static_cast<int16_t>(next + 1);
            ++next;
            ring.pop();
        }
    }
    producer.join();
    CHECK(in_order);
}
