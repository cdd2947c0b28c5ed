#include "media/g711.hpp"
#include "media/player.hpp"
#include "media/prompts.hpp"
#include "media/audio_file.hpp"

#include "audio_test_util.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

using namespace tandem::media;
using tandem::test::read_bytes;
using tandem::test::TempDir;
using tandem::test::write_bytes;
using tandem::test::write_audio;

namespace {

void put16(std::vector<uint8_t> &out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v));
    out.push_back(static_cast<uint8_t>(v >> 8));
}

void put32(std::vector<uint8_t> &out, uint32_t v) {
    put16(out, static_cast<uint16_t>(v));
    put16(out, static_cast<uint16_t>(v >> 16));
}

void chunk(std::vector<uint8_t> &out, const char *id, const std::vector<uint8_t> &body) {
    out.insert(out.end(), id, id + 4);
    put32(out, static_cast<uint32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    if (body.size() % 2)
        out.push_back(0);
}

std::vector<uint8_t> riff(const std::vector<uint8_t> &chunks) {
    std::vector<uint8_t> out = {'R', 'I', 'F', 'F'};
    put32(out, static_cast<uint32_t>(4 + chunks.size()));
    out.insert(out.end(), {'W', 'A', 'V', 'E'});
    out.insert(out.end(), chunks.begin(), chunks.end());
    return out;
}

std::vector<uint8_t> fmt_body(uint16_t tag, uint16_t channels, uint32_t rate, uint16_t bits) {
    std::vector<uint8_t> fmt;
    put16(fmt, tag);
    put16(fmt, channels);
    put32(fmt, rate);
    put32(fmt, rate * channels * bits / 8);
    put16(fmt, static_cast<uint16_t>(channels * bits / 8));
    put16(fmt, bits);
    return fmt;
}

std::vector<uint8_t> wav_file(uint16_t tag, uint16_t channels, uint32_t rate, uint16_t bits,
                              const std::vector<uint8_t> &data) {
    std::vector<uint8_t> chunks;
    chunk(chunks, "fmt ", fmt_body(tag, channels, rate, bits));
    chunk(chunks, "data", data);
    return riff(chunks);
}

std::vector<uint8_t> pcm_bytes(const std::vector<int16_t> &pcm) {
    std::vector<uint8_t> out;
    for (int16_t s : pcm)
        put16(out, static_cast<uint16_t>(s));
    return out;
}

struct ReadResult {
    bool ok = false;
    uint32_t rate = 0;
    std::vector<int16_t> pcm;
    std::string error;
};

// Reads a whole file through the tandem_file_format callbacks, in small
// reads so the reader's buffering is exercised.
ReadResult read_wav(const std::string &path) {
    const tandem_file_format *wav = audio_file_format();
    ReadResult result;
    char err[256] = "";
    void *handle = wav->open_read(wav->user, path.c_str(), &result.rate, err, sizeof err);
    result.error = err;
    if (!handle)
        return result;
    int16_t buffer[100];
    long n = 0;
    while ((n = wav->read(wav->user, handle, buffer, 100)) > 0)
        result.pcm.insert(result.pcm.end(), buffer, buffer + n);
    wav->close(wav->user, handle);
    result.ok = n == 0;
    return result;
}

ReadResult read_wav_bytes(const TempDir &dir, const std::vector<uint8_t> &bytes) {
    const std::string path = dir.file("input.wav");
    write_bytes(path, bytes);
    return read_wav(path);
}

std::vector<int16_t> ramp(size_t n, int start, int step) {
    std::vector<int16_t> out(n);
    for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<int16_t>(start + static_cast<int>(i) * step);
    return out;
}

} // namespace

TEST_CASE("16-bit PCM WAV reads back sample for sample", "[wav]") {
    TempDir dir;
    const auto pcm = ramp(10000, -20000, 4);
    const std::string path = dir.file("ramp.wav");
    REQUIRE(write_audio(path, 22050, pcm.data(), pcm.size()));
    CHECK(read_bytes(path).size() == 44 + 2 * pcm.size());
    const ReadResult result = read_wav(path);
    REQUIRE(result.ok);
    CHECK(result.rate == 22050);
    CHECK(result.pcm == pcm);
}

TEST_CASE("the audio file format descriptor names its extensions", "[wav]") {
    const tandem_file_format *wav = audio_file_format();
    CHECK(std::string(wav->name) == "audio");
    CHECK(std::string(wav->extensions) == "wav,wave,ogg,opus,oga,flac");
    CHECK(wav->struct_size == sizeof(tandem_file_format));
}

TEST_CASE("mu-law and A-law WAV files decode through the G.711 tables", "[wav]") {
    TempDir dir;
    const std::vector<uint8_t> codes = {0x00, 0x7F, 0x80, 0xD5, 0x55, 0xFF, 0x2A};
    const ReadResult ulaw = read_wav_bytes(dir, wav_file(7, 1, 8000, 8, codes));
    REQUIRE(ulaw.ok);
    CHECK(ulaw.rate == 8000);
    REQUIRE(ulaw.pcm.size() == codes.size());
    for (size_t i = 0; i < codes.size(); ++i)
        CHECK(ulaw.pcm[i] == ulaw_to_linear(codes[i]));

    const ReadResult alaw = read_wav_bytes(dir, wav_file(6, 1, 8000, 8, codes));
    REQUIRE(alaw.ok);
    REQUIRE(alaw.pcm.size() == codes.size());
    for (size_t i = 0; i < codes.size(); ++i)
        CHECK(alaw.pcm[i] == alaw_to_linear(codes[i]));
}

TEST_CASE("WAVE_FORMAT_EXTENSIBLE wrapping PCM is read", "[wav]") {
    TempDir dir;
    std::vector<uint8_t> fmt = fmt_body(0xFFFE, 1, 16000, 16);
    put16(fmt, 22);     // cbSize
    put16(fmt, 16);     // valid bits
    put32(fmt, 0x4);    // channel mask: front centre
    put32(fmt, 0x0001); // sub-format GUID: PCM
    fmt.insert(fmt.end(), {0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71});
    const auto pcm = ramp(50, 100, -7);
    std::vector<uint8_t> chunks;
    chunk(chunks, "fmt ", fmt);
    chunk(chunks, "data", pcm_bytes(pcm));
    const ReadResult result = read_wav_bytes(dir, riff(chunks));
    REQUIRE(result.ok);
    CHECK(result.rate == 16000);
    CHECK(result.pcm == pcm);

    fmt[fmt.size() - 1] ^= 0xFF; // not a KSDATAFORMAT_SUBTYPE GUID
    chunks.clear();
    chunk(chunks, "fmt ", fmt);
    chunk(chunks, "data", pcm_bytes(pcm));
    const ReadResult bad = read_wav_bytes(dir, riff(chunks));
    CHECK_FALSE(bad.ok);
    CHECK(bad.error == "File contains data in an unimplemented format.");
}

TEST_CASE("stereo WAV is downmixed by averaging", "[wav]") {
    TempDir dir;
    const std::vector<int16_t> interleaved = {1000, 3000, -3, 0, 32767, 32767, -32768, -32768};
    const ReadResult result = read_wav_bytes(dir, wav_file(1, 2, 44100, 16, pcm_bytes(interleaved)));
    REQUIRE(result.ok);
    CHECK(result.rate == 44100);
    CHECK(result.pcm == std::vector<int16_t>{2000, -1, 32767, -32768});
}

TEST_CASE("chunks before and between fmt and data are skipped", "[wav]") {
    TempDir dir;
    std::vector<uint8_t> chunks;
    chunk(chunks, "LIST", {'I', 'N', 'F', 'O', 'x'}); // odd size: padded
    chunk(chunks, "fmt ", fmt_body(1, 1, 8000, 16));
    chunk(chunks, "fact", {0, 0, 0, 0});
    chunk(chunks, "data", pcm_bytes({5, 6, 7}));
    const ReadResult result = read_wav_bytes(dir, riff(chunks));
    REQUIRE(result.ok);
    CHECK(result.pcm == std::vector<int16_t>{5, 6, 7});
}

TEST_CASE("malformed WAV files fail with a reason", "[wav]") {
    TempDir dir;
    const std::vector<uint8_t> good = wav_file(1, 1, 8000, 16, pcm_bytes(ramp(100, 0, 1)));
    auto fails = [&](const std::vector<uint8_t> &bytes) {
        const ReadResult result = read_wav_bytes(dir, bytes);
        INFO("error: " << result.error);
        return !result.ok && !result.error.empty();
    };

    CHECK(fails({}));
    CHECK(fails({'R', 'I', 'F', 'F', 0, 0}));
    CHECK(fails(std::vector<uint8_t>(good.begin(), good.begin() + 30)));
    std::vector<uint8_t> not_wave = good;
    std::memcpy(not_wave.data() + 8, "AVI ", 4);
    CHECK(fails(not_wave));
    CHECK(fails(wav_file(1, 0, 8000, 16, {0, 0})));       // no channels
    CHECK(fails(wav_file(1, 1, 0, 16, {0, 0})));          // rate 0
    CHECK(fails(wav_file(1, 1, 8000, 16, {})));           // no samples
    CHECK(fails(wav_file(0x55, 1, 8000, 16, {0, 0, 0}))); // MP3 in WAV: not supported
    std::vector<uint8_t> no_fmt;
    chunk(no_fmt, "data", {1, 2});
    CHECK(fails(riff(no_fmt)));
    CHECK(fails({'O', 'g', 'g', 'S', 0, 2, 0, 0, 0, 0}));
}

TEST_CASE("24-bit WAV files are read too", "[wav]") {
    TempDir dir;
    std::vector<uint8_t> pcm24;
    for (int16_t s : std::vector<int16_t>{1000, -2000, 32767}) {
        pcm24.push_back(0x80); // below 16-bit precision: dropped
        put16(pcm24, static_cast<uint16_t>(s));
    }
    const ReadResult deep = read_wav_bytes(dir, wav_file(1, 1, 8000, 24, pcm24));
    REQUIRE(deep.ok);
    CHECK(deep.pcm == std::vector<int16_t>{1000, -2000, 32767});

}

TEST_CASE("a data chunk longer than the file is cut to the samples present", "[wav]") {
    TempDir dir;
    std::vector<uint8_t> long_data = wav_file(1, 1, 8000, 16, pcm_bytes({1, 2, 3}));
    std::memcpy(long_data.data() + 40, "\xff\xff\xff\x7f", 4);
    const ReadResult result = read_wav_bytes(dir, long_data);
    REQUIRE(result.ok);
    CHECK(result.pcm == std::vector<int16_t>{1, 2, 3});
}

TEST_CASE("WAV at 8, 16 and 48 kHz and G.711 WAV written by libsndfile read back", "[wav]") {
    TempDir dir;
    for (int rate : {8000, 16000, 48000}) {
        const auto pcm = tandem::test::sine(440, rate, static_cast<size_t>(rate / 2), 8000);
        const std::string path = dir.file("pcm" + std::to_string(rate) + ".wav");
        REQUIRE(write_audio(path, static_cast<uint32_t>(rate), pcm.data(), pcm.size()));
        const ReadResult result = read_wav(path);
        REQUIRE(result.ok);
        CHECK(result.rate == static_cast<uint32_t>(rate));
        CHECK(result.pcm == pcm);
    }
    const auto pcm = tandem::test::sine(1000, 8000, 4000, 8000);
    for (int subtype : {SF_FORMAT_ULAW, SF_FORMAT_ALAW}) {
        const std::string path = dir.file("g711.wav");
        REQUIRE(write_audio(path, 8000, pcm.data(), pcm.size(), SF_FORMAT_WAV | subtype));
        CHECK(read_bytes(path).size() < 4000 + 100); // one byte a sample
        const ReadResult result = read_wav(path);
        REQUIRE(result.ok);
        REQUIRE(result.pcm.size() == pcm.size());
        // G.711 keeps about 38 dB of signal-to-noise on a loud tone.
        CHECK(tandem::test::tone_share(result.pcm, 1000, 8000) > 0.999);
        for (size_t i = 0; i < pcm.size(); ++i)
            REQUIRE(std::abs(result.pcm[i] - pcm[i]) <= std::abs(pcm[i]) / 16 + 16);
    }
}

TEST_CASE("Ogg/Opus files decode to the tone they hold", "[wav][opus]") {
    TempDir dir;
    const auto pcm = tandem::test::sine(600, 48000, 48000, 8000); // 1 s
    const std::string path = dir.file("tone.opus");
    REQUIRE(write_audio(path, 48000, pcm.data(), pcm.size(), SF_FORMAT_OGG | SF_FORMAT_OPUS));
    CHECK(read_bytes(path).size() < pcm.size()); // compressed
    const ReadResult result = read_wav(path);
    REQUIRE(result.ok);
    CHECK(result.rate == 48000);
    CHECK(result.pcm.size() > 47000);
    CHECK(result.pcm.size() < 49000);
    const std::vector<int16_t> middle(result.pcm.begin() + 10000, result.pcm.begin() + 40000);
    CHECK(tandem::test::tone_share(middle, 600, 48000) > 0.95);

    // Cached and played to an 8 kHz leg: resampled, same tone, same length.
    PromptCache cache;
    auto prompt = cache.load(path, {audio_file_format()}, nullptr);
    REQUIRE(prompt);
    Player player;
    player.add_prompt(prompt);
    std::vector<int16_t> out(16000);
    const size_t got = player.fill(out.data(), out.size(), 8000);
    CHECK(player.finished());
    CHECK(got > 7800);
    CHECK(got < 8200);
    out.resize(got);
    const std::vector<int16_t> played(out.begin() + 2000, out.begin() + 6000);
    CHECK(tandem::test::tone_share(played, 600, 8000) > 0.95);
}

TEST_CASE("every truncation and random corruption of a WAV file is handled", "[wav]") {
    TempDir dir;
    std::vector<uint8_t> chunks;
    chunk(chunks, "LIST", {'I', 'N', 'F', 'O'});
    chunk(chunks, "fmt ", fmt_body(1, 2, 8000, 16));
    chunk(chunks, "data", pcm_bytes(ramp(64, -500, 13)));
    const std::vector<uint8_t> good = riff(chunks);
    for (size_t n = 0; n < good.size(); ++n) {
        const ReadResult result = read_wav_bytes(dir, std::vector<uint8_t>(good.begin(), good.begin() + n));
        INFO("truncated to " << n << " bytes");
        CHECK((result.ok ? result.pcm.size() <= 32 : !result.error.empty()));
    }
    std::mt19937 random(1234);
    for (int round = 0; round < 500; ++round) {
        std::vector<uint8_t> bytes = good;
        for (int flips = 0; flips < 4; ++flips)
            bytes[random() % 80] = static_cast<uint8_t>(random());
        const ReadResult result = read_wav_bytes(dir, bytes);
        CHECK((result.ok || !result.error.empty()));
    }
}

TEST_CASE("a missing file or a directory is an error, not a crash", "[wav]") {
    TempDir dir;
    const ReadResult missing = read_wav(dir.file("missing.wav"));
    CHECK_FALSE(missing.ok);
    CHECK(missing.error.find("cannot open") == 0);
    const ReadResult directory = read_wav(dir.path().string());
    CHECK_FALSE(directory.ok);
    CHECK(directory.error.find("not a regular file") != std::string::npos);
}

TEST_CASE("the prompt cache shares one decoded prompt per file", "[prompts]") {
    TempDir dir;
    const std::string path = dir.file("hello.wav");
    const auto pcm = ramp(10000, -15000, 3); // more than one read's worth
    REQUIRE(write_audio(path, 8000, pcm.data(), pcm.size()));
    PromptCache cache;
    std::string error;
    const auto first = cache.load(path, {audio_file_format()}, &error);
    REQUIRE(first);
    CHECK(first->rate == 8000);
    CHECK(first->pcm == pcm);
    CHECK(first->path == path);
    CHECK(first->pcm.capacity() == first->pcm.size()); // cached: no growth slack
    const auto second = cache.load(path, {audio_file_format()}, &error);
    CHECK(second == first);
    CHECK(cache.size() == 1);
    cache.clear();
    CHECK(cache.size() == 0);
    CHECK(first->pcm == pcm); // still playable by whoever holds it
}

TEST_CASE("the prompt cache reloads a file that changed", "[prompts]") {
    TempDir dir;
    const std::string path = dir.file("changing.wav");
    const auto before = ramp(800, 0, 3);
    REQUIRE(write_audio(path, 8000, before.data(), before.size()));
    PromptCache cache;
    const auto first = cache.load(path, {audio_file_format()}, nullptr);
    REQUIRE(first);

    SECTION("a different size") {
        const auto after = ramp(400, 7, 1);
        REQUIRE(write_audio(path, 16000, after.data(), after.size()));
        const auto second = cache.load(path, {audio_file_format()}, nullptr);
        REQUIRE(second);
        CHECK(second != first);
        CHECK(second->rate == 16000);
        CHECK(second->pcm == after);
        CHECK(cache.size() == 1);
    }
    SECTION("the same size with a new mtime") {
        const auto after = ramp(800, 9, 2);
        REQUIRE(write_audio(path, 8000, after.data(), after.size()));
        std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + std::chrono::seconds(5));
        const auto second = cache.load(path, {audio_file_format()}, nullptr);
        REQUIRE(second);
        CHECK(second != first);
        CHECK(second->pcm == after);
        CHECK(cache.size() == 1);
    }
    SECTION("removed") {
        std::filesystem::remove(path);
        std::string error;
        CHECK_FALSE(cache.load(path, {audio_file_format()}, &error));
        CHECK(cache.size() == 0);
    }
    CHECK(first->pcm == before);
}

TEST_CASE("concurrent first loads of a prompt share one copy", "[prompts]") {
    TempDir dir;
    const std::string path = dir.file("busy.wav");
    const auto pcm = ramp(20000, -10000, 1);
    REQUIRE(write_audio(path, 8000, pcm.data(), pcm.size()));
    PromptCache cache;
    std::vector<std::shared_ptr<const Prompt>> loaded(8);
    std::atomic<int> waiting{static_cast<int>(loaded.size())};
    std::vector<std::thread> threads;
    for (auto &slot : loaded)
        threads.emplace_back([&] {
            for (--waiting; waiting > 0;)
                std::this_thread::yield();
            slot = cache.load(path, {audio_file_format()}, nullptr);
        });
    for (auto &thread : threads)
        thread.join();
    for (const auto &prompt : loaded) {
        REQUIRE(prompt);
        CHECK(prompt == cache.load(path, {audio_file_format()}, nullptr));
    }
    CHECK(cache.size() == 1);
}

TEST_CASE("the prompt cache reports missing files and unknown formats", "[prompts]") {
    TempDir dir;
    PromptCache cache;
    std::string error;
    CHECK_FALSE(cache.load(dir.file("absent.wav"), {audio_file_format()}, &error));
    CHECK(error.find("absent.wav") != std::string::npos);

    const std::string mp3 = dir.file("song.mp3");
    write_bytes(mp3, {1, 2, 3});
    CHECK_FALSE(cache.load(mp3, {audio_file_format()}, &error));
    CHECK(error.find("no file format for extension 'mp3'") != std::string::npos);

    const tandem_file_format write_only = {sizeof(tandem_file_format), "rec", "rec", nullptr, nullptr, nullptr, nullptr};
    const std::string recording = dir.file("call.rec");
    write_bytes(recording, {1, 2, 3});
    CHECK_FALSE(cache.load(recording, {&write_only}, &error));
    CHECK(error == recording + ": file format rec cannot read files");

    const std::string broken = dir.file("broken.wav");
    write_bytes(broken, {'n', 'o', 'p', 'e'});
    CHECK_FALSE(cache.load(broken, {audio_file_format()}, &error));
    CHECK(error == broken + ": Format not recognised.");
    CHECK(cache.size() == 0);
}

TEST_CASE("the file format is chosen by extension, ignoring case", "[prompts]") {
    const FileFormatList formats = {audio_file_format()};
    CHECK(format_for_path("/a/b/hello.WAV", formats) == audio_file_format());
    CHECK(format_for_path("hello.Wave", formats) == audio_file_format());
    CHECK(format_for_path("hello.mp3", formats) == nullptr);
    CHECK(format_for_path("/a.wav/hello", formats) == nullptr);

    TempDir dir;
    const std::string upper = dir.file("LOUD.WAV");
    const int16_t pcm[2] = {1, 2};
    REQUIRE(write_audio(upper, 8000, pcm, 2));
    PromptCache cache;
    CHECK(cache.load(upper, formats, nullptr));
}

TEST_CASE("prompt names resolve against the sounds directory", "[prompts]") {
    TempDir dir;
    const FileFormatList formats = {audio_file_format()};
    const int16_t pcm[2] = {1, 2};
    std::filesystem::create_directories(dir.path() / "en");
    REQUIRE(write_audio(dir.file("en/welcome.wav"), 8000, pcm, 2));
    REQUIRE(write_audio(dir.file("goodbye.wave"), 8000, pcm, 2));
    const std::string sounds = dir.path().string();

    CHECK(resolve_prompt_path(sounds, "en/welcome", formats) == dir.file("en/welcome.wav"));
    CHECK(resolve_prompt_path(sounds, "en/welcome.wav", formats) == dir.file("en/welcome.wav"));
    CHECK(resolve_prompt_path(sounds, "goodbye", formats) == dir.file("goodbye.wave"));
    CHECK(resolve_prompt_path("/nowhere", dir.file("en/welcome"), formats) == dir.file("en/welcome.wav"));
    CHECK(resolve_prompt_path(sounds, "missing", formats).empty());
    CHECK(resolve_prompt_path(sounds, "goodbye.wav", formats).empty());
    // A name with a registered extension is taken as it is.
    REQUIRE(write_audio(dir.file("twice.wav.wav"), 8000, pcm, 2));
    CHECK(resolve_prompt_path(sounds, "twice.wav", formats).empty());
    CHECK(resolve_prompt_path(sounds, "en", formats).empty()); // a directory
    CHECK(resolve_prompt_path(sounds, "", formats).empty());
}
