#pragma once
// Converts a stream of audio frames from one format to another along the
// cheapest chain of codec decodes, encodes and resamplings, e.g.
// PCMU -> slin8 -> slin16. One Translator per direction per leg: codec
// states and resampler history belong to the stream, so a Translator is not
// thread-safe and must stay on the worker that owns the leg.
//
// Ownership: the codec descriptors come from the CodecList passed to
// create() and must outlive the Translator (see codecs.hpp); the Translator
// owns the codec states and resamplers it creates.
#include "media/codecs.hpp"
#include "media/formats.hpp"
#include "media/frame.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tandem::media {

class Translator {
public:
    // Finds the cheapest path (sum of codec costs, resampling costs
    // kResampleCost; fewer steps wins a tie). from == to gives an identity
    // translator that copies frames. Returns nullptr and sets *error when no
    // path exists or a codec state or resampler cannot be created.
    // from_params / to_params: the far end's parameters of the source and
    // destination legs' formats (an a=fmtp), given to the codec that decodes
    // `from` and the one that encodes `to` (tandem_codec.state_new_params);
    // nullptr: unknown.
    static std::unique_ptr<Translator> create(const CodecList &codecs, FormatId from, FormatId to,
                                              std::string *error, const char *from_params = nullptr,
                                              const char *to_params = nullptr);
    ~Translator();
    Translator(const Translator &) = delete;
    Translator &operator=(const Translator &) = delete;

    // Converts one audio frame in format from() into `out` (format to()).
    // A lost frame (Frame::lost) is concealed by the codec that decodes it
    // (tandem_codec.conceal), or fails; an identity translator copies it.
    // `in` and `out` must be different frames. Returns false, leaving `out`
    // unspecified, when `in` is not an audio frame in from(), a codec fails,
    // or any stage would exceed kMaxFrameBytes. Never allocates.
    // Resampling delays the audio by its filter's latency (about 3 ms)
    // rather than shortening the first frame, so from the very first frame
    // 20 ms in gives exactly 20 ms out (160 samples at 8 kHz -> 320 at 16 kHz
    // or 960 at 48 kHz).
    bool translate(const Frame &in, Frame &out);

    std::string describe() const; // "PCMU -> slin8 -> slin16"
    // The codecs this path calls, so the owner can keep their modules loaded.
    std::vector<const tandem_codec *> codecs() const;
    uint32_t cost() const { return cost_; }
    FormatId from() const { return from_; }
    FormatId to() const { return to_; }

    static constexpr uint32_t kResampleCost = 2;

private:
    struct Step;
    Translator(FormatId from, FormatId to);

    FormatId from_;
    FormatId to_;
    uint32_t cost_ = 0;
    std::vector<Step> steps_;
    // Intermediate results ping-pong between these; the last step writes
    // straight into the caller's frame.
    std::array<Frame, 2> scratch_;
};

} // namespace tandem::media
