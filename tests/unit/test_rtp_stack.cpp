// Tandem's RTP stack (core/rtp, <tandem/rtp.h>): packets, RFC 4733, receive
// statistics, RTCP reports and round trip, the SDES crypto attribute.
#include "media/g711.hpp"

#include <tandem/rtp.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace {

std::vector<uint8_t> packet(uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, std::vector<uint8_t> payload) {
    std::vector<uint8_t> p(TANDEM_RTP_HEADER_SIZE);
    tandem_rtp_write_header(p.data(), pt, false, seq, ts, ssrc);
    p.insert(p.end(), payload.begin(), payload.end());
    return p;
}

} // namespace

TEST_CASE("RTP packets parse back to what was written", "[rtp]") {
    auto p = packet(8, 65535, 0xdeadbeef, 0x01020304, {1, 2, 3});
    tandem_rtp_packet out;
    REQUIRE(tandem_rtp_parse(p.data(), p.size(), &out) == 0);
    CHECK(out.pt == 8);
    CHECK(out.seq == 65535);
    CHECK(out.ts == 0xdeadbeef);
    CHECK(out.ssrc == 0x01020304);
    CHECK(out.payload_len == 3);
    CHECK(out.payload[2] == 3);
}

TEST_CASE("RTP CSRCs, extensions and padding are skipped and bounds-checked", "[rtp]") {
    auto p = packet(0, 1, 2, 3, {0, 0, 0, 0, /*ext*/ 0xbe, 0xde, 0, 1, 9, 9, 9, 9, /*payload*/ 7, 7, /*pad*/ 0, 2});
    p[0] = 0x80 | 0x20 | 0x10 | 1; // padding, extension, one CSRC
    tandem_rtp_packet out;
    REQUIRE(tandem_rtp_parse(p.data(), p.size(), &out) == 0);
    CHECK(out.payload_len == 2);
    CHECK(out.payload[0] == 7);
    p.back() = 40; // padding longer than the packet
    CHECK(tandem_rtp_parse(p.data(), p.size(), &out) == -1);
    p.back() = 2;
    p[0] = 0x80 | 15; // 15 CSRCs do not fit
    CHECK(tandem_rtp_parse(p.data(), p.size(), &out) == -1);
    p[0] = 0x40; // version 1
    CHECK(tandem_rtp_parse(p.data(), p.size(), &out) == -1);
    CHECK(tandem_rtp_parse(p.data(), 11, &out) == -1);
}

TEST_CASE("RTCP and RTP are told apart on one port (RFC 5761)", "[rtp]") {
    auto rtp = packet(0, 1, 2, 3, {1, 2, 3, 4});
    CHECK_FALSE(tandem_rtp_is_rtcp(rtp.data(), rtp.size()));
    uint8_t rr[8] = {0x80, 201, 0, 1, 0, 0, 0, 1};
    CHECK(tandem_rtp_is_rtcp(rr, sizeof rr));
}

TEST_CASE("RFC 4733 events round-trip and map to digits", "[rtp]") {
    tandem_rtp_event ev{11, true, 10, 800}, back{};
    uint8_t buf[4];
    tandem_rtp_event_write(buf, &ev);
    REQUIRE(tandem_rtp_event_parse(buf, 4, &back) == 0);
    CHECK(back.event == 11);
    CHECK(back.end);
    CHECK(back.volume == 10);
    CHECK(back.duration == 800);
    CHECK(tandem_rtp_event_parse(buf, 3, &back) == -1);
    CHECK(tandem_rtp_event_digit(11) == '#');
    CHECK(tandem_rtp_event_digit(16) == 0);
    CHECK(tandem_rtp_digit_event('d') == 15);
    CHECK(tandem_rtp_digit_event('*') == 10);
    CHECK(tandem_rtp_digit_event('x') == -1);
    CHECK(tandem_rtp_digit_event(0) == -1);
}

TEST_CASE("receive statistics count loss, wraps and jitter as RFC 3550 A.1/A.8", "[rtp]") {
    tandem_rtp_rx_stats s{};
    s.clock_rate = 8000;
    uint64_t t = 1000000;
    // 100 packets across the sequence wrap, every 10th lost, perfectly timed
    for (int i = 0; i < 100; ++i) {
        uint16_t seq = static_cast<uint16_t>(65500 + i);
        if (i % 10 != 5)
            tandem_rtp_rx_update(&s, 42, seq, 160u * i, t + 20000u * i);
    }
    CHECK(tandem_rtp_rx_expected(&s) == 100);
    CHECK(tandem_rtp_rx_lost(&s) == 10);
    CHECK(tandem_rtp_rx_extended_max(&s) == 65536u + 63);
    CHECK(tandem_rtp_rx_jitter(&s) == 0);

    // alternating 0 / 10 ms late: |D| = 80 units each time, J converges to 80
    tandem_rtp_rx_stats j{};
    j.clock_rate = 8000;
    for (int i = 0; i < 500; ++i)
        tandem_rtp_rx_update(&j, 7, static_cast<uint16_t>(i), 160u * i, t + 20000u * i + (i % 2) * 10000u);
    CHECK(tandem_rtp_rx_jitter(&j) >= 78);
    CHECK(tandem_rtp_rx_jitter(&j) <= 80);
}

TEST_CASE("SR/RR reports carry loss, jitter and give the round trip", "[rtp]") {
    uint8_t rnd_a[12] = {0, 0, 0, 1, 0, 10, 0, 0, 0, 0, 0, 0};
    uint8_t rnd_b[12] = {0, 0, 0, 2, 0, 20, 0, 0, 0, 0, 0, 0};
    tandem_rtp_session a, b;
    tandem_rtp_session_init(&a, rnd_a, 8000);
    tandem_rtp_session_init(&b, rnd_b, 8000);
    uint64_t now = 5000000, ntp = tandem_ntp_from_unix_us(1700000000000000ull);
    // a sends 50 packets to b, 5 are lost
    for (int i = 0; i < 50; ++i) {
        uint8_t h[12];
        tandem_rtp_session_header(&a, h, 0, false, a.ts);
        tandem_rtp_session_sent(&a, 160);
        a.ts += 160;
        tandem_rtp_packet p;
        std::vector<uint8_t> pkt(h, h + 12);
        pkt.resize(172);
        REQUIRE(tandem_rtp_parse(pkt.data(), pkt.size(), &p) == 0);
        if (i % 10 != 3)
            tandem_rtp_session_received(&b, &p, now + 20000u * i);
    }
    uint8_t buf[256];
    size_t n = tandem_rtcp_session_report(&a, buf, sizeof buf, now, ntp, "a@host");
    REQUIRE(n > 0);
    tandem_rtcp_info info;
    REQUIRE(tandem_rtcp_parse(buf, n, &info) == 0);
    CHECK(info.has_sr); // a sent media: a sender report
    CHECK(info.packet_count == 50);
    CHECK(info.octet_count == 50 * 160);
    REQUIRE(tandem_rtcp_session_receive(&b, buf, n, now, ntp) == 0);

    // b answers 150 ms later with an RR that holds 100 ms of DLSR: RTT 50 ms
    uint64_t ntp_later = ntp + (uint64_t(100) << 32) / 1000;
    n = tandem_rtcp_session_report(&b, buf, sizeof buf, now + 100000, ntp_later, "b@host");
    REQUIRE(tandem_rtcp_parse(buf, n, &info) == 0);
    CHECK(info.has_rr);
    CHECK_FALSE(info.has_sr);
    REQUIRE(info.block_count == 1);
    CHECK(info.blocks[0].ssrc == a.ssrc);
    CHECK(info.blocks[0].cumulative_lost == 5);
    CHECK(info.blocks[0].fraction_lost == 5 * 256 / 50);
    CHECK(info.blocks[0].ext_highest_seq == uint32_t(10 + 49));
    uint64_t ntp_back = ntp + (uint64_t(150) << 32) / 1000;
    REQUIRE(tandem_rtcp_session_receive(&a, buf, n, now + 150000, ntp_back) == 0);
    CHECK(tandem_rtp_session_rtt_ms(&a) == Approx(50).margin(1));
    CHECK(tandem_rtp_session_loss_pct(&b) == Approx(10));

    n = tandem_rtcp_session_bye(&b, buf, sizeof buf, now, ntp, "b@host");
    REQUIRE(tandem_rtcp_parse(buf, n, &info) == 0);
    CHECK(info.has_bye);
    // a truncated or inconsistent compound packet is refused
    CHECK(tandem_rtcp_parse(buf, n - 4, &info) == -1);
    buf[3] = 200;
    CHECK(tandem_rtcp_parse(buf, n, &info) == -1);
}

TEST_CASE("the report interval is randomised between 0.5 and 1.5 times the mean", "[rtp]") {
    CHECK(tandem_rtcp_interval_ms(5000, 0) == 2500);
    CHECK(tandem_rtcp_interval_ms(5000, 0xffff) == 7499);
    CHECK(tandem_rtcp_interval_ms(5000, 0x8000) == 5000);
}

TEST_CASE("the crypto attribute parses, writes and refuses what we cannot honour", "[rtp][srtp]") {
    const char *ok = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20";
    tandem_crypto_attr a;
    REQUIRE(tandem_crypto_attr_parse(ok, strlen(ok), &a) == 0);
    CHECK(a.tag == 1);
    CHECK(a.suite == TANDEM_SRTP_AES_CM_128_HMAC_SHA1_80);
    char out[128];
    REQUIRE(tandem_crypto_attr_write(out, sizeof out, &a) > 0);
    CHECK(std::string(out) == "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR");
    tandem_crypto_attr b;
    REQUIRE(tandem_crypto_attr_parse(out, strlen(out), &b) == 0);
    CHECK(std::memcmp(a.key_salt, b.key_salt, sizeof a.key_salt) == 0);
    for (const char *bad : {"1 AES_256_CM_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
                            "1 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaV",
                            "1 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4",
                            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP",
                            "x AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
                            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaV!R", ""})
        CHECK(tandem_crypto_attr_parse(bad, strlen(bad), &b) == -1);
}

TEST_CASE("the library's G.711 decodes as the core's codec and round-trips", "[rtp][g711]") {
    for (int v = 0; v < 256; ++v) {
        CHECK(tandem_ulaw_decode(uint8_t(v)) == tandem::media::ulaw_to_linear(uint8_t(v)));
        CHECK(tandem_alaw_decode(uint8_t(v)) == tandem::media::alaw_to_linear(uint8_t(v)));
    }
    // encoding reproduces every code word's value (rounding between code
    // words may differ from the core's: concealment does not need more)
    for (int v = 0; v < 256; ++v) {
        int16_t u = tandem_ulaw_decode(uint8_t(v)), a = tandem_alaw_decode(uint8_t(v));
        CHECK(tandem_ulaw_decode(tandem_ulaw_encode(u)) == u);
        CHECK(tandem_alaw_decode(tandem_alaw_encode(a)) == a);
    }
}
