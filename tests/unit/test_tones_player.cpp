#include "media/player.hpp"
#include "media/tones.hpp"

#include "audio_test_util.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <vector>

using namespace tandem::media;
using tandem::test::goertzel_power;
using tandem::test::mean_power;
using tandem::test::sine;
using tandem::test::tone_share;

namespace {

ToneSpec parse_ok(std::string_view text) {
    ToneSpec spec;
    std::string error;
    INFO(text);
    REQUIRE(parse_tone(text, spec, &error));
    CHECK(error.empty());
    return spec;
}

bool same_segment(const ToneSegment &a, const ToneSegment &b) {
    return a.freq1 == b.freq1 && a.freq2 == b.freq2 && a.duration_ms == b.duration_ms;
}

std::vector<int16_t> generate_all(ToneGenerator &generator, size_t n, size_t chunk) {
    std::vector<int16_t> out(n);
    size_t done = 0;
    while (done < n) {
        const size_t got = generator.generate(out.data() + done, std::min(chunk, n - done));
        if (got == 0)
            break;
        done += got;
    }
    out.resize(done);
    return out;
}

std::vector<int16_t> play_all(Player &player, uint32_t rate, size_t frame, size_t limit) {
    std::vector<int16_t> out;
    std::vector<int16_t> buffer(frame);
    while (out.size() < limit) {
        const size_t got = player.fill(buffer.data(), frame, rate);
        out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<long>(got));
        if (got < frame)
            break;
    }
    return out;
}

std::shared_ptr<const Prompt> make_prompt(std::vector<int16_t> pcm, uint32_t rate) {
    auto prompt = std::make_shared<Prompt>();
    prompt->rate = rate;
    prompt->pcm = std::move(pcm);
    prompt->path = "test";
    return prompt;
}

} // namespace

TEST_CASE("tone specs with segments parse", "[tones]") {
    const ToneSpec spec = parse_ok("tone:350+440/1000,0/500");
    REQUIRE(spec.segments.size() == 2);
    CHECK(same_segment(spec.segments[0], {350, 440, 1000}));
    CHECK(same_segment(spec.segments[1], {0, 0, 500}));
    CHECK_FALSE(spec.repeat);

    const ToneSpec looping = parse_ok("tone:1004/250;repeat");
    REQUIRE(looping.segments.size() == 1);
    CHECK(same_segment(looping.segments[0], {1004, 0, 250}));
    CHECK(looping.repeat);

    const ToneSpec spaced = parse_ok("tone: 480 + 620 /250 , 0/ 250 ; repeat");
    REQUIRE(spaced.segments.size() == 2);
    CHECK(same_segment(spaced.segments[0], {480, 620, 250}));
    CHECK(spaced.repeat);
}

TEST_CASE("named tones are the European defaults and repeat", "[tones]") {
    const ToneSpec ringback = parse_ok("tone:ringback");
    REQUIRE(ringback.segments.size() == 2);
    CHECK(same_segment(ringback.segments[0], {425, 0, 1000}));
    CHECK(same_segment(ringback.segments[1], {0, 0, 4000}));
    CHECK(ringback.repeat);

    const ToneSpec busy = parse_ok("tone:busy");
    REQUIRE(busy.segments.size() == 2);
    CHECK(same_segment(busy.segments[0], {425, 0, 500}));
    CHECK(same_segment(busy.segments[1], {0, 0, 500}));
    CHECK(busy.repeat);

    const ToneSpec congestion = parse_ok("tone:congestion");
    REQUIRE(congestion.segments.size() == 2);
    CHECK(same_segment(congestion.segments[0], {425, 0, 250}));
    CHECK(same_segment(congestion.segments[1], {0, 0, 250}));

    const ToneSpec dial = parse_ok("tone:dial");
    REQUIRE(dial.segments.size() == 1);
    CHECK(dial.segments[0].freq1 == 425);
    CHECK(dial.repeat);
}

TEST_CASE("malformed tone specs are rejected with a reason", "[tones]") {
    const char *bad[] = {
        "350/100",         "tone:",           "tone:350",          "tone:abc/100",     "tone:350/0",
        "tone:350/-5",     "tone:4000/100",   "tone:350+/100",     "tone:+440/100",    "tone:0+440/100",
        "tone:350/100;loop", "tone:350+440+480/100", "tone:350/100,", "tone:350/99999999999",
        "tone:350/1e3",    "tone:ringing",    "tone:;repeat",      "tone:350/100;",
    };
    for (const char *text : bad) {
        INFO(text);
        ToneSpec spec;
        std::string error;
        CHECK_FALSE(parse_tone(text, spec, &error));
        CHECK_FALSE(error.empty());
    }
    CHECK(is_tone_spec("tone:busy"));
    CHECK_FALSE(is_tone_spec("welcome"));
}

TEST_CASE("a dual tone contains exactly its two frequencies", "[tones]") {
    ToneGenerator generator(parse_ok("tone:350+440/1000"), 8000);
    const auto pcm = generate_all(generator, 100000, 160);
    REQUIRE(pcm.size() == 8000);
    const double total = mean_power(pcm);
    CHECK(goertzel_power(pcm, 350, 8000) / total == Approx(0.5).epsilon(0.02));
    CHECK(goertzel_power(pcm, 440, 8000) / total == Approx(0.5).epsilon(0.02));
    CHECK(goertzel_power(pcm, 1000, 8000) / total < 0.001);
    // About -13 dBm0 each: amplitude ~5074, so the peak is near twice that.
    const auto peak = *std::max_element(pcm.begin(), pcm.end());
    CHECK(peak > 9500);
    CHECK(peak <= 10148);
}

TEST_CASE("tones keep their frequency at every output rate", "[tones]") {
    for (uint32_t rate : {8000u, 16000u, 48000u}) {
        INFO(rate);
        ToneGenerator generator(parse_ok("tone:dial"), rate);
        const auto pcm = generate_all(generator, rate, rate / 50);
        REQUIRE(pcm.size() == rate);
        CHECK(tone_share(pcm, 425, rate) > 0.99);
    }
}

TEST_CASE("tone generation is phase-continuous across calls", "[tones]") {
    ToneGenerator whole(parse_ok("tone:440/1000"), 8000);
    ToneGenerator pieces(parse_ok("tone:440/1000"), 8000);
    const auto reference = generate_all(whole, 8000, 8000);
    const auto chunked = generate_all(pieces, 8000, 7);
    CHECK(chunked == reference);
}

TEST_CASE("a non-repeating tone ends after its total duration", "[tones]") {
    ToneGenerator generator(parse_ok("tone:350+440/100,0/50,620/25"), 16000);
    const auto pcm = generate_all(generator, 100000, 333);
    CHECK(pcm.size() == (100 + 50 + 25) * 16);
    CHECK(generator.finished());
    int16_t more[10];
    CHECK(generator.generate(more, 10) == 0);
    // The silent segment is silent and the last one is 620 Hz.
    CHECK(std::all_of(pcm.begin() + 1600, pcm.begin() + 2400, [](int16_t s) { return s == 0; }));
    // After silence a tone restarts at a zero crossing, not mid-wave.
    CHECK(pcm[2400] == 0);
    CHECK(pcm[2401] > 0);
    const std::vector<int16_t> last(pcm.begin() + 2400, pcm.end());
    CHECK(tone_share(last, 620, 16000) > 0.95);
}

TEST_CASE("a repeating tone follows its cadence forever", "[tones]") {
    ToneGenerator generator(parse_ok("tone:busy"), 8000);
    const auto pcm = generate_all(generator, 8000 * 5, 160);
    REQUIRE(pcm.size() == 8000 * 5);
    CHECK_FALSE(generator.finished());
    for (size_t second = 0; second < 5; ++second) {
        const int16_t *on = pcm.data() + second * 8000;
        const int16_t *off = on + 4000;
        CHECK(mean_power(on, 4000) > 1e6);
        CHECK(mean_power(off, 4000) == 0.0);
    }
}

TEST_CASE("a tone generator can change rate mid-tone", "[tones]") {
    ToneGenerator generator(parse_ok("tone:1000/1000"), 8000);
    int16_t buffer[48000];
    CHECK(generator.generate(buffer, 4000) == 4000); // half the tone
    generator.set_rate(48000);
    CHECK(generator.rate() == 48000);
    const size_t rest = generator.generate(buffer, 48000);
    CHECK(rest == 24000);
    CHECK(tone_share(std::vector<int16_t>(buffer, buffer + rest), 1000, 48000) > 0.99);
}

TEST_CASE("a repeating tone makes progress even at absurdly low rates", "[tones]") {
    ToneGenerator generator(parse_ok("tone:440/1,0/1;repeat"), 100);
    int16_t out[10];
    CHECK(generator.generate(out, 10) == 10);
}

TEST_CASE("an empty player is finished", "[player]") {
    Player player;
    CHECK(player.finished());
    player.add_prompt(make_prompt({}, 8000));
    player.add_prompt(nullptr);
    CHECK(player.finished());
    int16_t out[160];
    CHECK(player.fill(out, 160, 8000) == 0);
    CHECK(player.samples_played() == 0);
}

TEST_CASE("the player plays a prompt then a tone and then stops", "[player]") {
    const auto pcm = sine(700, 8000, 8000 + 37, 9000);
    Player player;
    player.add_prompt(make_prompt(pcm, 8000));
    player.add_tone(parse_ok("tone:425/500"));
    CHECK_FALSE(player.finished());

    const auto out = play_all(player, 8000, 160, 100000);
    REQUIRE(out.size() == 8037 + 4000);
    CHECK(player.finished());
    CHECK(player.samples_played() == out.size());
    CHECK(std::equal(pcm.begin(), pcm.end(), out.begin()));
    CHECK(tone_share(std::vector<int16_t>(out.begin() + 8037, out.end()), 425, 8000) > 0.99);
    int16_t more[160];
    CHECK(player.fill(more, 160, 8000) == 0);
}

TEST_CASE("the player resamples prompts to the output rate", "[player]") {
    const struct {
        uint32_t prompt_rate, output_rate;
    } cases[] = {{8000, 16000}, {8000, 48000}, {16000, 8000}, {48000, 16000}};
    for (const auto &c : cases) {
        INFO(c.prompt_rate << " -> " << c.output_rate);
        Player player;
        player.add_prompt(make_prompt(sine(1000, c.prompt_rate, c.prompt_rate, 8000), c.prompt_rate));
        const auto out = play_all(player, c.output_rate, c.output_rate / 50, 1000000);
        CHECK(player.finished());
        // The whole prompt, no more and no less.
        CHECK(out.size() == c.output_rate);
        CHECK(tone_share(out, 1000, c.output_rate) > 0.95);
    }
}

TEST_CASE("the player fills whole frames across item boundaries", "[player]") {
    Player player;
    player.add_prompt(make_prompt(std::vector<int16_t>(100, 1), 8000));
    player.add_prompt(make_prompt({}, 8000));
    player.add_prompt(make_prompt(std::vector<int16_t>(50, 2), 8000));
    player.add_tone(parse_ok("tone:425/10"));
    int16_t out[160];
    REQUIRE(player.fill(out, 160, 8000) == 160);
    CHECK(out[99] == 1);
    CHECK(out[100] == 2);
    CHECK(out[149] == 2);
    CHECK(out[150] == 0); // the tone starts at a zero crossing
    CHECK(out[151] != 0);
    CHECK_FALSE(player.finished());
    CHECK(player.fill(out, 160, 8000) == 70); // the rest of the 80-sample tone
    CHECK(player.finished());
    CHECK(player.fill(out, 160, 8000) == 0);
}

TEST_CASE("a player with a repeating tone never finishes", "[player]") {
    Player player;
    player.add_tone(parse_ok("tone:ringback"));
    int16_t out[960];
    for (int i = 0; i < 500; ++i)
        REQUIRE(player.fill(out, 960, 48000) == 960);
    CHECK_FALSE(player.finished());
    CHECK(player.samples_played() == 500u * 960u);
}

TEST_CASE("a player accepts new items after finishing", "[player]") {
    Player player;
    player.add_tone(parse_ok("tone:425/20"));
    int16_t out[320];
    CHECK(player.fill(out, 320, 16000) == 320);
    CHECK(player.finished());
    player.add_prompt(make_prompt(std::vector<int16_t>(10, 5), 16000));
    CHECK_FALSE(player.finished());
    CHECK(player.fill(out, 320, 16000) == 10);
    CHECK(player.finished());
    CHECK(player.samples_played() == 330);
}
