#include "media/g711.hpp"
#include "media/translator.hpp"
#include "runtime/translation.hpp"

#include "audio_test_util.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

using namespace tandem::media;
using tandem::test::sine;
using tandem::test::tone_share;

namespace {

CodecList g711_codecs() { return CodecList{{g711_ulaw_codec(), g711_alaw_codec()}}; }

// A stateful wideband test codec: big-endian PCM16 at 16 kHz that counts
// its states and can be told to fail.
struct FakeCodec {
    int states_alive = 0;
    int states_created = 0;
    bool fail = false;
    bool refuse_state = false;
    std::vector<std::string> params; // what each state_new_params was given
    std::vector<std::string> concealed; // the next packet each conceal() was given
};

void *fake_state_new(void *user) {
    auto *fake = static_cast<FakeCodec *>(user);
    if (fake->refuse_state)
        return nullptr;
    ++fake->states_alive;
    ++fake->states_created;
    return fake;
}

void *fake_state_new_params(void *user, const char *params) {
    static_cast<FakeCodec *>(user)->params.emplace_back(params);
    return fake_state_new(user);
}

// A lost frame becomes `samples` of 1000 (so a test can see it).
int fake_conceal(void *user, void *state, size_t samples, const uint8_t *next, size_t next_len, int16_t *pcm,
                 size_t pcm_cap) {
    auto *fake = static_cast<FakeCodec *>(user);
    if (state != user || samples > pcm_cap)
        return -1;
    fake->concealed.emplace_back(reinterpret_cast<const char *>(next), next_len);
    std::fill(pcm, pcm + samples, int16_t{1000});
    return static_cast<int>(samples);
}

void fake_state_free(void *user, void *state) {
    CHECK(state == user);
    --static_cast<FakeCodec *>(user)->states_alive;
}

int fake_encode(void *user, void *state, const int16_t *pcm, size_t samples, uint8_t *out, size_t out_cap) {
    if (static_cast<FakeCodec *>(user)->fail || state != user || samples * 2 > out_cap)
        return -1;
    for (size_t i = 0; i < samples; ++i) {
        out[2 * i] = static_cast<uint8_t>(static_cast<uint16_t>(pcm[i]) >> 8);
        out[2 * i + 1] = static_cast<uint8_t>(pcm[i]);
    }
    return static_cast<int>(samples * 2);
}

int fake_decode(void *user, void *state, const uint8_t *in, size_t len, int16_t *pcm, size_t pcm_cap) {
    if (static_cast<FakeCodec *>(user)->fail || state != user || len / 2 > pcm_cap)
        return -1;
    for (size_t i = 0; i < len / 2; ++i)
        pcm[i] = static_cast<int16_t>(in[2 * i] << 8 | in[2 * i + 1]);
    return static_cast<int>(len / 2);
}

tandem_codec fake_codec(FakeCodec &fake, const char *name, uint32_t cost) {
    return {sizeof(tandem_codec), name, 16000, cost, &fake, fake_state_new, fake_state_free, fake_encode, fake_decode,
            nullptr, 0, 0, nullptr, fake_state_new_params, fake_conceal};
}

Frame audio_frame(FormatId format, const void *data, uint32_t bytes, uint32_t samples) {
    Frame frame;
    frame.format = format;
    frame.samples = samples;
    frame.len = bytes;
    std::memcpy(frame.data, data, bytes);
    return frame;
}

Frame slin_frame(FormatId format, const int16_t *pcm, uint32_t samples) {
    return audio_frame(format, pcm, samples * 2, samples);
}

} // namespace

TEST_CASE("the linear formats have fixed ids and rates", "[translator]") {
    CHECK(find_format("slin8") == kSlin8);
    CHECK(find_format("slin16") == kSlin16);
    CHECK(find_format("slin48") == kSlin48);
    CHECK(format_name(kSlin16) == "slin16");
    CHECK(linear_rate(kSlin48) == 48000);
    CHECK(linear_rate(intern_format("PCMU")) == 0);
    CHECK(linear_format_for_rate(16000) == kSlin16);
    CHECK(linear_format_for_rate(44100) == kNoFormat);
    CHECK(intern_format("PCMU") == intern_format("PCMU"));
    CHECK(find_format("never-interned-format") == kNoFormat);
    CHECK(intern_format("") == kNoFormat);
    CHECK(format_name(kNoFormat).empty());
}

TEST_CASE("a translator between identical formats copies frames", "[translator]") {
    const FormatId pcmu = intern_format("PCMU");
    std::string error;
    auto translator = Translator::create(g711_codecs(), pcmu, pcmu, &error);
    REQUIRE(translator);
    CHECK(translator->cost() == 0);
    CHECK(translator->describe() == "PCMU");

    const uint8_t bytes[3] = {1, 2, 3};
    Frame out;
    REQUIRE(translator->translate(audio_frame(pcmu, bytes, 3, 3), out));
    CHECK(out.format == pcmu);
    CHECK(out.samples == 3);
    CHECK(out.len == 3);
    CHECK(std::memcmp(out.data, bytes, 3) == 0);
}

TEST_CASE("PCMU to PCMA goes through slin8 at cost 2", "[translator]") {
    const FormatId pcmu = intern_format("PCMU");
    const FormatId pcma = intern_format("PCMA");
    auto translator = Translator::create(g711_codecs(), pcmu, pcma, nullptr);
    REQUIRE(translator);
    CHECK(translator->describe() == "PCMU -> slin8 -> PCMA");
    CHECK(translator->cost() == 2);

    uint8_t ulaw[160];
    for (int i = 0; i < 160; ++i)
        ulaw[i] = static_cast<uint8_t>(i);
    Frame out;
    REQUIRE(translator->translate(audio_frame(pcmu, ulaw, 160, 160), out));
    CHECK(out.format == pcma);
    CHECK(out.samples == 160);
    REQUIRE(out.len == 160);
    for (int i = 0; i < 160; ++i)
        REQUIRE(out.data[i] == linear_to_alaw(ulaw_to_linear(ulaw[i])));
}

TEST_CASE("PCMU to slin16 decodes then resamples", "[translator]") {
    const FormatId pcmu = intern_format("PCMU");
    auto translator = Translator::create(g711_codecs(), pcmu, kSlin16, nullptr);
    REQUIRE(translator);
    CHECK(translator->describe() == "PCMU -> slin8 -> slin16");
    CHECK(translator->cost() == 1 + Translator::kResampleCost);

    const uint8_t silence[160] = {};
    Frame out;
    REQUIRE(translator->translate(audio_frame(pcmu, silence, 160, 160), out));
    CHECK(out.format == kSlin16);
    CHECK(out.samples == 320);
    CHECK(out.len == 640);
}

TEST_CASE("PCMU to slin48 resamples directly from slin8", "[translator]") {
    auto translator = Translator::create(g711_codecs(), intern_format("PCMU"), kSlin48, nullptr);
    REQUIRE(translator);
    CHECK(translator->describe() == "PCMU -> slin8 -> slin48");
    CHECK(translator->cost() == 3);
}

TEST_CASE("resampling yields a stable sample count for every 20 ms frame", "[translator]") {
    const struct {
        FormatId from, to;
        uint32_t in, out;
    } cases[] = {{kSlin8, kSlin16, 160, 320}, {kSlin8, kSlin48, 160, 960}, {kSlin16, kSlin8, 320, 160},
                 {kSlin48, kSlin8, 960, 160}, {kSlin48, kSlin16, 960, 320}, {kSlin16, kSlin48, 320, 960}};
    for (const auto &c : cases) {
        auto translator = Translator::create(CodecList{}, c.from, c.to, nullptr);
        REQUIRE(translator);
        const auto pcm = sine(440, linear_rate(c.from), c.in * 10, 8000);
        for (int f = 0; f < 10; ++f) {
            INFO(translator->describe() << " frame " << f);
            Frame out;
            REQUIRE(translator->translate(slin_frame(c.from, pcm.data() + f * c.in, c.in), out));
            CHECK(out.samples == c.out);
            CHECK(out.len == c.out * 2);
        }
    }
}

TEST_CASE("a 1 kHz tone survives PCMU -> slin16 -> PCMU", "[translator]") {
    const FormatId pcmu = intern_format("PCMU");
    auto up = Translator::create(g711_codecs(), pcmu, kSlin16, nullptr);
    auto down = Translator::create(g711_codecs(), kSlin16, pcmu, nullptr);
    REQUIRE(up);
    REQUIRE(down);
    CHECK(down->describe() == "slin16 -> slin8 -> PCMU");

    const auto pcm = sine(1000, 8000, 160 * 50, 10000);
    std::vector<int16_t> wideband, result;
    for (size_t offset = 0; offset < pcm.size(); offset += 160) {
        uint8_t ulaw[160];
        ulaw_encode(pcm.data() + offset, ulaw, 160);
        Frame middle, back;
        REQUIRE(up->translate(audio_frame(pcmu, ulaw, 160, 160), middle));
        REQUIRE(down->translate(middle, back));
        REQUIRE(back.len == 160);
        wideband.insert(wideband.end(), middle.pcm(), middle.pcm() + middle.samples);
        for (uint32_t i = 0; i < back.len; ++i)
            result.push_back(ulaw_to_linear(back.data[i]));
    }
    // Skip the first frames: the filters' delay line starts silent.
    const std::vector<int16_t> steady_wide(wideband.begin() + 640, wideband.end());
    const std::vector<int16_t> steady(result.begin() + 320, result.end());
    CHECK(tone_share(steady_wide, 1000, 16000) > 0.95);
    CHECK(tone_share(steady, 1000, 8000) > 0.95);
    CHECK(tone_share(steady, 2000, 8000) < 0.01);
}

TEST_CASE("resampling keeps the waveform continuous across frames", "[translator]") {
    auto translator = Translator::create(CodecList{}, kSlin8, kSlin48, nullptr);
    REQUIRE(translator);
    const auto pcm = sine(300, 8000, 160 * 20, 12000);
    std::vector<int16_t> out;
    for (size_t offset = 0; offset < pcm.size(); offset += 160) {
        Frame frame;
        REQUIRE(translator->translate(slin_frame(kSlin8, pcm.data() + offset, 160), frame));
        out.insert(out.end(), frame.pcm(), frame.pcm() + frame.samples);
    }
    // A 300 Hz sine of amplitude 12000 moves at most 2*pi*300/48000*12000
    // = 471 per sample at 48 kHz; a click at a frame boundary would not.
    int worst = 0;
    for (size_t i = 960; i < out.size(); ++i)
        worst = std::max(worst, std::abs(out[i] - out[i - 1]));
    CHECK(worst < 520);
    CHECK(worst > 400);
}

TEST_CASE("no translator without a path", "[translator]") {
    std::string error;
    CHECK_FALSE(Translator::create(g711_codecs(), intern_format("PCMU"), intern_format("G729"), &error));
    CHECK(error == "no translation path from PCMU to G729");
    CHECK_FALSE(Translator::create(g711_codecs(), kSlin8, static_cast<FormatId>(kMaxFormats - 1), &error));
    CHECK(error.find("unknown format id") == 0);
}

TEST_CASE("translate refuses frames of another format or kind", "[translator]") {
    auto translator = Translator::create(g711_codecs(), kSlin8, intern_format("PCMU"), nullptr);
    REQUIRE(translator);
    const int16_t pcm[160] = {};
    Frame out;
    CHECK_FALSE(translator->translate(slin_frame(kSlin16, pcm, 160), out));
    Frame dtmf;
    dtmf.set_dtmf('5', 100);
    CHECK_FALSE(translator->translate(dtmf, out));
    Frame short_payload = slin_frame(kSlin8, pcm, 160);
    short_payload.len = 100;
    CHECK_FALSE(translator->translate(short_payload, out));
}

TEST_CASE("translate fails when the output would exceed a frame", "[translator]") {
    auto translator = Translator::create(CodecList{}, kSlin8, kSlin48, nullptr);
    REQUIRE(translator);
    const int16_t pcm[480] = {}; // 60 ms: 2880 samples at 48 kHz
    Frame out;
    CHECK_FALSE(translator->translate(slin_frame(kSlin8, pcm, 480), out));
}

TEST_CASE("the translator owns codec states for its lifetime", "[translator]") {
    FakeCodec fake;
    const tandem_codec codec = fake_codec(fake, "FAKE16", 1);
    const FormatId fake_format = intern_format("FAKE16");
    {
        auto translator = Translator::create(CodecList{{&codec}}, fake_format, kSlin16, nullptr);
        REQUIRE(translator);
        CHECK(translator->describe() == "FAKE16 -> slin16");
        CHECK(fake.states_alive == 1);
        const uint8_t bytes[4] = {0x01, 0x02, 0xFF, 0xFE};
        Frame out;
        REQUIRE(translator->translate(audio_frame(fake_format, bytes, 4, 2), out));
        CHECK(out.samples == 2);
        CHECK(out.pcm()[0] == 0x0102);
        CHECK(out.pcm()[1] == -2);
        fake.fail = true;
        CHECK_FALSE(translator->translate(audio_frame(fake_format, bytes, 4, 2), out));
    }
    CHECK(fake.states_alive == 0);
    CHECK(fake.states_created == 1);
}

TEST_CASE("a codec that cannot create its state fails the translator", "[translator]") {
    FakeCodec fake;
    fake.refuse_state = true;
    const tandem_codec codec = fake_codec(fake, "FAKE16", 1);
    std::string error;
    CHECK_FALSE(Translator::create(CodecList{{&codec}}, kSlin16, intern_format("FAKE16"), &error));
    CHECK(error == "codec FAKE16: cannot create state");
}

TEST_CASE("the cheapest path wins over the shortest", "[translator]") {
    FakeCodec cheap_fake, dear_fake;
    const tandem_codec cheap = fake_codec(cheap_fake, "CHEAP16", 1);
    const tandem_codec dear = fake_codec(dear_fake, "DEAR16", 9);
    const CodecList codecs{{g711_ulaw_codec(), &cheap, &dear}};

    auto to_cheap = Translator::create(codecs, intern_format("PCMU"), intern_format("CHEAP16"), nullptr);
    REQUIRE(to_cheap);
    CHECK(to_cheap->describe() == "PCMU -> slin8 -> slin16 -> CHEAP16");
    CHECK(to_cheap->cost() == 1 + Translator::kResampleCost + 1);
    CHECK(cheap_fake.states_alive == 1);

    auto from_dear = Translator::create(codecs, intern_format("DEAR16"), intern_format("CHEAP16"), nullptr);
    REQUIRE(from_dear);
    CHECK(from_dear->describe() == "DEAR16 -> slin16 -> CHEAP16");
    CHECK(from_dear->cost() == 10);
}

TEST_CASE("a codec named like a linear format is ignored", "[translator]") {
    FakeCodec fake;
    const tandem_codec impostor = fake_codec(fake, "slin48", 0);
    auto translator = Translator::create(CodecList{{&impostor}}, kSlin16, kSlin48, nullptr);
    REQUIRE(translator);
    CHECK(translator->cost() == Translator::kResampleCost);
    CHECK(fake.states_created == 0);
}

TEST_CASE("find_codec matches names case-insensitively", "[translator]") {
    const CodecList codecs = g711_codecs();
    CHECK(find_codec(codecs, "PCMA") == g711_alaw_codec());
    CHECK(find_codec(codecs, "pcmu") == g711_ulaw_codec());
    CHECK(find_codec(codecs, "G722") == nullptr);
}

TEST_CASE("the far end's parameters reach the codec that decodes the source and the one that encodes "
          "the destination", "[translator]") {
    FakeCodec in_fake, out_fake;
    const tandem_codec in_codec = fake_codec(in_fake, "FAKEIN", 5);
    const tandem_codec out_codec = fake_codec(out_fake, "FAKEOUT", 5);
    const CodecList codecs{{&in_codec, &out_codec}};
    const FormatId in = intern_format("FAKEIN"), out = intern_format("FAKEOUT");

    auto both = Translator::create(codecs, in, out, nullptr, "useinbandfec=1", "maxplaybackrate=8000");
    REQUIRE(both);
    CHECK(both->describe() == "FAKEIN -> slin16 -> FAKEOUT");
    CHECK(in_fake.params == std::vector<std::string>{"useinbandfec=1"});
    CHECK(out_fake.params == std::vector<std::string>{"maxplaybackrate=8000"});

    // unknown parameters: state_new, as for a codec built before ABI 1.3
    auto unknown = Translator::create(codecs, in, out, nullptr);
    REQUIRE(unknown);
    CHECK(in_fake.params.size() == 1);
    CHECK(out_fake.params.size() == 1);
    CHECK(in_fake.states_created == 2);

    tandem_codec old_codec = in_codec;
    old_codec.struct_size = offsetof(tandem_codec, state_new_params);
    const CodecList old_codecs{{&old_codec, &out_codec}};
    REQUIRE(Translator::create(old_codecs, in, out, nullptr, "x=1", "y=2"));
    CHECK(in_fake.params.size() == 1); // a 1.2 codec's state_new_params is never read
    CHECK(out_fake.params == std::vector<std::string>{"maxplaybackrate=8000", "y=2"});
}

TEST_CASE("a lost frame is concealed by the codec that decodes it, copied as lost by an identity "
          "translator, and dropped by a codec that cannot conceal", "[translator]") {
    FakeCodec fake;
    const tandem_codec codec = fake_codec(fake, "FAKEIN", 5);
    const CodecList codecs{{&codec, g711_ulaw_codec()}};
    const FormatId in = intern_format("FAKEIN"), pcmu = intern_format("PCMU");

    Frame lost = audio_frame(in, "next", 4, 320); // 20 ms at 16 kHz, the following packet in data
    lost.lost = true;
    auto t = Translator::create(codecs, in, pcmu, nullptr);
    REQUIRE(t);
    Frame out;
    REQUIRE(t->translate(lost, out));
    CHECK(fake.concealed == std::vector<std::string>{"next"});
    CHECK_FALSE(out.lost);
    CHECK(out.format == pcmu);
    CHECK(out.samples == 160); // resampled to 8 kHz and encoded: a whole frame of audio
    int16_t decoded[160];
    ulaw_decode(out.data, decoded, 160);
    CHECK(decoded[100] > 800); // the concealment's 1000, through the resampler and G.711

    auto identity = Translator::create(codecs, in, in, nullptr);
    REQUIRE(identity->translate(lost, out));
    CHECK(out.lost);
    CHECK(out.len == 4);

    Frame lost_ulaw = audio_frame(pcmu, "", 0, 160);
    lost_ulaw.lost = true;
    auto no_conceal = Translator::create(codecs, pcmu, in, nullptr);
    CHECK_FALSE(no_conceal->translate(lost_ulaw, out)); // G.711 has no conceal(): dropped
}

TEST_CASE("a translator slot searches a pair of formats with no path once, not per frame", "[translator]") {
    tandem::Registry registry; // no codecs: only the identity path exists
    tandem::TranslatorSlot slot;
    FormatId pcmu = intern_format("PCMU"), g729 = intern_format("G729");
    std::string error;
    CHECK_FALSE(slot.get(registry, pcmu, g729, error));
    CHECK(error == "no translation path from PCMU to G729");
    error.clear();
    CHECK_FALSE(slot.get(registry, pcmu, g729, error));
    CHECK(error.empty()); // known missing: neither searched nor reported again
    tandem::HeldTranslator *t = slot.get(registry, pcmu, pcmu, error);
    REQUIRE(t);
    CHECK(slot.get(registry, pcmu, pcmu, error) == t); // kept while the formats stay
    CHECK_FALSE(slot.get(registry, pcmu, g729, error));
    CHECK_FALSE(error.empty()); // the formats changed in between: searched again
}
