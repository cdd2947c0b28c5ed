#include "media/g711.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <vector>

using namespace tandem::media;

// Reference values from the G.711 decoding tables (16-bit scale: the 14-bit
// µ-law and 13-bit A-law table values shifted up).

TEST_CASE("mu-law decodes code words to the G.711 table values", "[g711]") {
    CHECK(ulaw_to_linear(0x00) == -32124);
    CHECK(ulaw_to_linear(0x01) == -31100);
    CHECK(ulaw_to_linear(0x0F) == -16764);
    CHECK(ulaw_to_linear(0x10) == -15996);
    CHECK(ulaw_to_linear(0x7E) == -8);
    CHECK(ulaw_to_linear(0x7F) == 0);
    CHECK(ulaw_to_linear(0x80) == 32124);
    CHECK(ulaw_to_linear(0xFE) == 8);
    CHECK(ulaw_to_linear(0xFF) == 0);
}

TEST_CASE("A-law decodes code words to the G.711 table values", "[g711]") {
    CHECK(alaw_to_linear(0x00) == -5504);
    CHECK(alaw_to_linear(0x01) == -5248);
    CHECK(alaw_to_linear(0x02) == -6016);
    CHECK(alaw_to_linear(0x2A) == -32256);
    CHECK(alaw_to_linear(0x55) == -8);
    CHECK(alaw_to_linear(0xAA) == 32256);
    CHECK(alaw_to_linear(0xD5) == 8);
}

TEST_CASE("mu-law encodes zero, the sign boundary and the extremes", "[g711]") {
    CHECK(linear_to_ulaw(0) == 0xFF);
    CHECK(linear_to_ulaw(1) == 0xFF);
    CHECK(linear_to_ulaw(-1) == 0x7F);
    CHECK(linear_to_ulaw(8) == 0xFE);
    CHECK(linear_to_ulaw(-8) == 0x7E);
    CHECK(linear_to_ulaw(32767) == 0x80);
    CHECK(linear_to_ulaw(-32768) == 0x00);
}

TEST_CASE("A-law encodes zero, the sign boundary and the extremes", "[g711]") {
    CHECK(linear_to_alaw(0) == 0xD5);
    CHECK(linear_to_alaw(-1) == 0x55);
    CHECK(linear_to_alaw(8) == 0xD5);
    CHECK(linear_to_alaw(16) == 0xD4);
    CHECK(linear_to_alaw(32767) == 0xAA);
    CHECK(linear_to_alaw(-32768) == 0x2A);
}

TEST_CASE("mu-law decode then encode returns every code word", "[g711]") {
    for (int code = 0; code < 256; ++code) {
        INFO("code " << code);
        // 0x7F is negative zero: it decodes to 0, which encodes as 0xFF.
        const int expected = code == 0x7F ? 0xFF : code;
        CHECK(linear_to_ulaw(ulaw_to_linear(static_cast<uint8_t>(code))) == expected);
    }
}

TEST_CASE("A-law decode then encode returns every code word", "[g711]") {
    for (int code = 0; code < 256; ++code) {
        INFO("code " << code);
        CHECK(linear_to_alaw(alaw_to_linear(static_cast<uint8_t>(code))) == code);
    }
}

// Companding keeps order and stays within half a quantisation step, which
// is at most 1/32 of the magnitude (plus the smallest step near zero).
template <uint8_t (*Encode)(int16_t), int16_t (*Decode)(uint8_t)> void check_monotonic_and_close() {
    int previous = -32768;
    int worst = 0;
    for (int x = -32768; x <= 32767; ++x) {
        const int y = Decode(Encode(static_cast<int16_t>(x)));
        if (y < previous)
            FAIL("not monotonic at " << x);
        previous = y;
        const int clipped = std::abs(x) > 32124 ? 32124 : std::abs(x);
        const int error = std::abs(std::abs(y) - clipped);
        if (error > clipped / 32 + 16)
            FAIL("error " << error << " too large at " << x);
        worst = std::max(worst, error);
    }
    CHECK(worst > 0);
}

TEST_CASE("mu-law companding is monotonic and accurate", "[g711]") {
    check_monotonic_and_close<linear_to_ulaw, ulaw_to_linear>();
}

TEST_CASE("A-law companding is monotonic and accurate", "[g711]") {
    check_monotonic_and_close<linear_to_alaw, alaw_to_linear>();
}

TEST_CASE("bulk G.711 functions match the per-sample ones", "[g711]") {
    std::vector<int16_t> pcm;
    for (int x = -32768; x <= 32767; x += 97)
        pcm.push_back(static_cast<int16_t>(x));
    std::vector<uint8_t> ulaw(pcm.size()), alaw(pcm.size());
    ulaw_encode(pcm.data(), ulaw.data(), pcm.size());
    alaw_encode(pcm.data(), alaw.data(), pcm.size());
    std::vector<int16_t> from_ulaw(pcm.size()), from_alaw(pcm.size());
    ulaw_decode(ulaw.data(), from_ulaw.data(), ulaw.size());
    alaw_decode(alaw.data(), from_alaw.data(), alaw.size());
    for (size_t i = 0; i < pcm.size(); ++i) {
        REQUIRE(ulaw[i] == linear_to_ulaw(pcm[i]));
        REQUIRE(alaw[i] == linear_to_alaw(pcm[i]));
        REQUIRE(from_ulaw[i] == ulaw_to_linear(ulaw[i]));
        REQUIRE(from_alaw[i] == alaw_to_linear(alaw[i]));
    }
}

TEST_CASE("G.711 codec descriptors are stateless 8 kHz codecs of cost 1", "[g711]") {
    for (const tandem_codec *codec : {g711_ulaw_codec(), g711_alaw_codec()}) {
        CHECK(codec->struct_size == sizeof(tandem_codec));
        CHECK(codec->sample_rate == 8000);
        CHECK(codec->cost == 1);
        CHECK(codec->state_new == nullptr);
    }
    CHECK(std::string(g711_ulaw_codec()->name) == "PCMU");
    CHECK(std::string(g711_alaw_codec()->name) == "PCMA");
}

TEST_CASE("G.711 codec callbacks convert arrays and refuse short buffers", "[g711]") {
    const int16_t pcm[4] = {0, -1, 1000, -32768};
    uint8_t bytes[4];
    int16_t back[4];
    const tandem_codec *ulaw = g711_ulaw_codec();
    REQUIRE(ulaw->encode(ulaw->user, nullptr, pcm, 4, bytes, sizeof bytes) == 4);
    CHECK(bytes[0] == 0xFF);
    CHECK(bytes[3] == 0x00);
    REQUIRE(ulaw->decode(ulaw->user, nullptr, bytes, 4, back, 4) == 4);
    CHECK(back[3] == -32124);
    CHECK(ulaw->encode(ulaw->user, nullptr, pcm, 4, bytes, 3) == -1);
    CHECK(ulaw->decode(ulaw->user, nullptr, bytes, 4, back, 3) == -1);

    const tandem_codec *alaw = g711_alaw_codec();
    REQUIRE(alaw->encode(alaw->user, nullptr, pcm, 4, bytes, sizeof bytes) == 4);
    CHECK(bytes[0] == 0xD5);
    REQUIRE(alaw->decode(alaw->user, nullptr, bytes, 4, back, 4) == 4);
    CHECK(back[0] == 8);
    CHECK(alaw->encode(alaw->user, nullptr, pcm, 4, bytes, 2) == -1);
    CHECK(alaw->decode(alaw->user, nullptr, bytes, 4, back, 2) == -1);
}
