#include "media/player.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

namespace tandem::media {
namespace {

// Fed to a resampler after a prompt's last sample to push out the audio
// still inside its filter.
constexpr std::array<int16_t, 256> kSilence{};

} // namespace

size_t Player::PromptItem::fill(int16_t *out, size_t n, uint32_t rate) {
    const std::vector<int16_t> &pcm = prompt->pcm;
    if (prompt->rate == rate) {
        resampler.reset();
        flush_left = 0;
        const size_t count = std::min(n, pcm.size() - position);
        std::copy_n(pcm.begin() + static_cast<std::ptrdiff_t>(position), count, out);
        position += count;
        return count;
    }
    if (!resampler || resampler->out_rate() != rate) {
        resampler = Resampler::create(prompt->rate, rate, nullptr);
        if (!resampler) {
            position = pcm.size(); // unplayable at this rate: skip it
            return 0;
        }
        // Start in step with the prompt rather than after the filter's
        // delay, and drain that delay at the end instead: the output is the
        // whole prompt, no longer and no shorter.
        resampler->skip_leading_delay();
        flush_left = resampler->input_latency();
    }
    size_t written = 0;
    while (written < n) {
        Resampler::Result result{};
        if (position < pcm.size()) {
            result = resampler->process(pcm.data() + position, pcm.size() - position, out + written, n - written);
            position += result.consumed;
        } else if (flush_left > 0) {
            result = resampler->process(kSilence.data(), std::min(flush_left, kSilence.size()), out + written,
                                        n - written);
            flush_left -= result.consumed;
        }
        if (result.consumed == 0 && result.produced == 0)
            break;
        written += result.produced;
    }
    return written;
}

bool Player::PromptItem::done() const {
    return position == prompt->pcm.size() && (!resampler || flush_left == 0);
}

size_t Player::ToneItem::fill(int16_t *out, size_t n, uint32_t rate) {
    generator.set_rate(rate);
    return generator.generate(out, n);
}

void Player::add_prompt(std::shared_ptr<const Prompt> prompt) {
    if (!prompt)
        return;
    items_.emplace_back(PromptItem(std::move(prompt)));
    skip_finished_items();
}

void Player::add_tone(const ToneSpec &tone) {
    // Built here, at a provisional rate, so that fill() does not allocate;
    // fill() switches it to the output rate.
    items_.emplace_back(ToneItem{ToneGenerator(tone, 8000)});
    skip_finished_items();
}

bool Player::done(const Item &item) {
    return std::visit(
        [](const auto &playing) {
            if constexpr (std::is_same_v<std::decay_t<decltype(playing)>, std::monostate>)
                return true;
            else
                return playing.done();
        },
        item);
}

// Releases played items (their prompt and resampler) and moves past them,
// including items with nothing to play, so finished() is exact.
void Player::skip_finished_items() {
    while (current_ < items_.size() && done(items_[current_])) {
        items_[current_] = std::monostate{};
        ++current_;
    }
}

size_t Player::fill(int16_t *out, size_t samples, uint32_t rate) {
    if (rate == 0)
        return 0;
    size_t written = 0;
    while (written < samples && current_ < items_.size()) {
        const size_t n = std::visit(
            [&](auto &playing) -> size_t {
                if constexpr (std::is_same_v<std::decay_t<decltype(playing)>, std::monostate>)
                    return 0;
                else
                    return playing.fill(out + written, samples - written, rate);
            },
            items_[current_]);
        written += n;
        if (!done(items_[current_]) && n == 0)
            break; // cannot make progress (never expected): do not spin
        skip_finished_items();
    }
    samples_played_ += written;
    return written;
}

} // namespace tandem::media
