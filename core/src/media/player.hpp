#pragma once
// Plays a queue of prompts and tones to one leg, as PCM16 mono at whatever
// rate the leg's media clock asks for. Prompts recorded at another rate are
// resampled on the fly (one streaming resampler per prompt, created when the
// prompt starts); tones are synthesised directly at the output rate.
//
// Thread-safety: none; a Player belongs to one leg on its worker. The
// prompts it holds are shared, immutable and may be played by other legs at
// the same time. fill() allocates only when an item starts or the output
// rate changes, never in the steady state.
#include "media/prompts.hpp"
#include "media/resampler.hpp"
#include "media/tones.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

namespace tandem::media {

class Player {
public:
    // Appended to the queue. A null prompt is ignored.
    void add_prompt(std::shared_ptr<const Prompt> prompt);
    void add_tone(const ToneSpec &tone);

    // Writes up to `samples` samples at `rate` Hz, moving from one item to
    // the next without gaps. Returns fewer than requested only when the
    // queue has run out; nothing is padded.
    size_t fill(int16_t *out, size_t samples, uint32_t rate);

    // True when every queued item has been played (a repeating tone never is).
    bool finished() const { return current_ == items_.size(); }
    uint64_t samples_played() const { return samples_played_; }

private:
    struct PromptItem {
        explicit PromptItem(std::shared_ptr<const Prompt> p) : prompt(std::move(p)) {}
        std::shared_ptr<const Prompt> prompt;
        size_t position = 0;                  // prompt samples consumed
        std::unique_ptr<Resampler> resampler; // while prompt rate != output rate
        size_t flush_left = 0;                // zeros still to feed to drain the resampler
        size_t fill(int16_t *out, size_t n, uint32_t rate);
        bool done() const;
    };
    struct ToneItem {
        ToneGenerator generator;
        size_t fill(int16_t *out, size_t n, uint32_t rate);
        bool done() const { return generator.finished(); }
    };
    // monostate: an item already played, its memory released.
    using Item = std::variant<std::monostate, PromptItem, ToneItem>;

    static bool done(const Item &item);
    void skip_finished_items();

    std::vector<Item> items_;
    size_t current_ = 0;
    uint64_t samples_played_ = 0;
};

} // namespace tandem::media
