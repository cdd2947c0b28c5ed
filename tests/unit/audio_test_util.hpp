#pragma once
// Helpers shared by the media tests: tone measurement and scratch files.
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <sndfile.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace tandem::test {

// Mean power of the component of `x` at `freq` (Goertzel): for a sine of
// amplitude A at exactly that frequency this is A^2 / 2, its share of
// mean_power().
inline double goertzel_power(const int16_t *x, size_t n, double freq, double rate) {
    const double coeff = 2.0 * std::cos(2.0 * std::numbers::pi * freq / rate);
    double s1 = 0.0, s2 = 0.0;
    for (size_t i = 0; i < n; ++i) {
        const double s0 = x[i] + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    const double magnitude2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    return 2.0 * magnitude2 / (static_cast<double>(n) * static_cast<double>(n));
}

inline double goertzel_power(const std::vector<int16_t> &x, double freq, double rate) {
    return goertzel_power(x.data(), x.size(), freq, rate);
}

inline double mean_power(const int16_t *x, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i)
        sum += static_cast<double>(x[i]) * x[i];
    return n ? sum / static_cast<double>(n) : 0.0;
}

inline double mean_power(const std::vector<int16_t> &x) { return mean_power(x.data(), x.size()); }

// Share of the signal's power carried by the tone at `freq` (1.0 = pure).
inline double tone_share(const std::vector<int16_t> &x, double freq, double rate) {
    return goertzel_power(x, freq, rate) / mean_power(x);
}

inline std::vector<int16_t> sine(double freq, double rate, size_t n, double amplitude) {
    std::vector<int16_t> out(n);
    for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<int16_t>(std::lround(amplitude * std::sin(2.0 * std::numbers::pi * freq * i / rate)));
    return out;
}

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("tandem-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    const std::filesystem::path &path() const { return path_; }
    std::string file(const std::string &name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

inline void write_bytes(const std::string &path, const std::vector<uint8_t> &bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Writes mono audio through libsndfile (default: 16-bit PCM WAV).
inline bool write_audio(const std::string &path, uint32_t rate, const int16_t *pcm, size_t n,
                        int format = SF_FORMAT_WAV | SF_FORMAT_PCM_16) {
    SF_INFO info{};
    info.samplerate = static_cast<int>(rate);
    info.channels = 1;
    info.format = format;
    SNDFILE *file = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!file)
        return false;
    const bool ok = sf_writef_short(file, pcm, static_cast<sf_count_t>(n)) == static_cast<sf_count_t>(n);
    return sf_close(file) == 0 && ok;
}

inline std::vector<uint8_t> read_bytes(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace tandem::test
