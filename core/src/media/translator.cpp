#include "media/translator.hpp"

#include "media/resampler.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <limits>
#include <tuple>

namespace tandem::media {
namespace {

enum class StepKind { decode, encode, resample };

// One edge of the format graph: a conversion the translator can perform.
struct Edge {
    FormatId from;
    FormatId to;
    uint32_t cost;
    StepKind kind;
    const tandem_codec *codec; // nullptr for resampling
};

constexpr size_t kMaxPcmSamples = kMaxFrameBytes / sizeof(int16_t);
constexpr std::array<FormatId, 3> kLinearFormats = {kSlin8, kSlin16, kSlin48};

std::vector<Edge> build_edges(const CodecList &codecs) {
    std::vector<Edge> edges;
    for (const tandem_codec *codec : codecs.codecs) {
        if (!codec || !codec->name || !codec->encode || !codec->decode)
            continue;
        const FormatId encoded = intern_format(codec->name);
        const FormatId linear = linear_format_for_rate(codec->sample_rate);
        // A codec at a rate the engine has no linear format for cannot be
        // reached; one named like a linear format would shadow it.
        if (encoded == kNoFormat || linear == kNoFormat || linear_rate(encoded) != 0)
            continue;
        edges.push_back({encoded, linear, codec->cost, StepKind::decode, codec});
        edges.push_back({linear, encoded, codec->cost, StepKind::encode, codec});
    }
    for (FormatId a : kLinearFormats)
        for (FormatId b : kLinearFormats)
            if (a != b)
                edges.push_back({a, b, Translator::kResampleCost, StepKind::resample, nullptr});
    return edges;
}

// Dijkstra over format ids, ordering paths by (cost, number of steps) so a
// tie goes to the shorter chain. The graph has at most kMaxFormats nodes
// and a few edges per codec, so a linear scan for the next node is enough.
// Returns the edges of the path in order; false if `to` is unreachable.
bool cheapest_path(const std::vector<Edge> &edges, FormatId from, FormatId to, std::vector<Edge> &path) {
    constexpr uint64_t kUnreached = std::numeric_limits<uint64_t>::max();
    struct Label {
        uint64_t cost = kUnreached;
        uint32_t steps = 0;
        int via = -1; // index into edges of the last step
        bool settled = false;
        auto key() const { return std::tie(cost, steps); }
    };
    std::array<Label, kMaxFormats> labels{};
    labels[from].cost = 0;
    for (;;) {
        int next = -1;
        for (int id = 0; id < kMaxFormats; ++id)
            if (!labels[id].settled && labels[id].cost != kUnreached &&
                (next < 0 || labels[id].key() < labels[next].key()))
                next = id;
        if (next < 0 || next == to)
            break;
        labels[next].settled = true;
        for (size_t i = 0; i < edges.size(); ++i) {
            const Edge &edge = edges[i];
            if (edge.from != next)
                continue;
            Label candidate;
            candidate.cost = labels[next].cost + edge.cost;
            candidate.steps = labels[next].steps + 1;
            if (candidate.key() < labels[edge.to].key()) {
                labels[edge.to].cost = candidate.cost;
                labels[edge.to].steps = candidate.steps;
                labels[edge.to].via = static_cast<int>(i);
            }
        }
    }
    if (labels[to].cost == kUnreached)
        return false;
    path.clear();
    for (FormatId at = to; at != from; at = edges[labels[at].via].from)
        path.push_back(edges[labels[at].via]);
    std::reverse(path.begin(), path.end());
    return true;
}

// A linear frame's samples must all be present in its payload.
bool holds_pcm(const Frame &frame) {
    return frame.samples <= kMaxPcmSamples && frame.len >= frame.samples * sizeof(int16_t);
}

struct CodecStateFree {
    const tandem_codec *codec;
    void operator()(void *state) const {
        if (codec->state_free)
            codec->state_free(codec->user, state);
    }
};

// A codec's state for one stream, from the far end's parameters when both
// are known (ABI 1.3), else from state_new.
void *new_codec_state(const tandem_codec *codec, const char *params) {
    constexpr size_t kWithParams = offsetof(tandem_codec, state_new_params) + sizeof(codec->state_new_params);
    if (params && codec->struct_size >= kWithParams && codec->state_new_params)
        return codec->state_new_params(codec->user, params);
    return codec->state_new(codec->user);
}

} // namespace

struct Translator::Step {
    StepKind kind;
    FormatId to;
    const tandem_codec *codec;
    std::unique_ptr<void, CodecStateFree> codec_state;
    std::unique_ptr<Resampler> resampler;

    bool run(const Frame &in, Frame &out) {
        uint32_t samples = 0;
        uint32_t len = 0;
        switch (kind) {
        case StepKind::decode: {
            const int n = in.lost ? conceal(in, out)
                                  : codec->decode(codec->user, codec_state.get(), in.data, in.len, out.pcm(),
                                                  kMaxPcmSamples);
            if (n < 0 || static_cast<size_t>(n) > kMaxPcmSamples)
                return false;
            samples = static_cast<uint32_t>(n);
            len = samples * sizeof(int16_t);
            break;
        }
        case StepKind::encode: {
            if (!holds_pcm(in))
                return false;
            const int n = codec->encode(codec->user, codec_state.get(), in.pcm(), in.samples, out.data, kMaxFrameBytes);
            if (n < 0 || static_cast<size_t>(n) > kMaxFrameBytes)
                return false;
            samples = in.samples;
            len = static_cast<uint32_t>(n);
            break;
        }
        case StepKind::resample: {
            if (!holds_pcm(in))
                return false;
            const auto result = resampler->process(in.pcm(), in.samples, out.pcm(), kMaxPcmSamples);
            // Input left over means the output would not fit in one frame.
            if (result.consumed != in.samples)
                return false;
            samples = static_cast<uint32_t>(result.produced);
            len = samples * sizeof(int16_t);
            break;
        }
        }
        out.kind = FrameKind::audio;
        out.format = to;
        out.samples = samples;
        out.len = len;
        out.lost = false;
        return true;
    }

    // A lost frame: the codec's concealment (ABI 1.3), or -1 to drop it.
    int conceal(const Frame &in, Frame &out) {
        constexpr size_t kWithConceal = offsetof(tandem_codec, conceal) + sizeof(codec->conceal);
        if (codec->struct_size < kWithConceal || !codec->conceal)
            return -1;
        return codec->conceal(codec->user, codec_state.get(), in.samples, in.data, in.len, out.pcm(),
                              kMaxPcmSamples);
    }
};

Translator::Translator(FormatId from, FormatId to) : from_(from), to_(to) {}

Translator::~Translator() = default;

std::unique_ptr<Translator> Translator::create(const CodecList &codecs, FormatId from, FormatId to,
                                               std::string *error, const char *from_params,
                                               const char *to_params) {
    auto fail = [&](std::string message) -> std::unique_ptr<Translator> {
        if (error)
            *error = std::move(message);
        return nullptr;
    };
    for (FormatId id : {from, to})
        if (format_name(id).empty())
            return fail("unknown format id " + std::to_string(id));

    std::vector<Edge> path;
    if (!cheapest_path(build_edges(codecs), from, to, path))
        return fail("no translation path from " + format_name(from) + " to " + format_name(to));

    std::unique_ptr<Translator> translator(new Translator(from, to));
    translator->steps_.reserve(path.size());
    for (const Edge &edge : path) {
        Step step{edge.kind, edge.to, edge.codec, {nullptr, {edge.codec}}, nullptr};
        if (edge.codec && edge.codec->state_new) {
            const char *params = edge.kind == StepKind::decode && edge.from == from ? from_params
                                 : edge.kind == StepKind::encode && edge.to == to   ? to_params
                                                                                    : nullptr;
            step.codec_state.reset(new_codec_state(edge.codec, params));
            if (!step.codec_state)
                return fail(std::string("codec ") + edge.codec->name + ": cannot create state");
        }
        if (edge.kind == StepKind::resample) {
            step.resampler = Resampler::create(linear_rate(edge.from), linear_rate(edge.to), error);
            if (!step.resampler)
                return nullptr;
        }
        translator->cost_ += edge.cost;
        translator->steps_.push_back(std::move(step));
    }
    return translator;
}

bool Translator::translate(const Frame &in, Frame &out) {
    if (in.kind != FrameKind::audio || in.format != from_ || in.len > kMaxFrameBytes)
        return false;
    if (steps_.empty()) {
        out.kind = FrameKind::audio;
        out.format = to_;
        out.samples = in.samples;
        out.len = in.len;
        out.lost = in.lost;
        std::memcpy(out.data, in.data, in.len);
        return true;
    }
    const Frame *source = &in;
    for (size_t i = 0; i < steps_.size(); ++i) {
        Frame &target = (i + 1 == steps_.size()) ? out : scratch_[i % scratch_.size()];
        if (!steps_[i].run(*source, target))
            return false;
        source = &target;
    }
    return true;
}

std::vector<const tandem_codec *> Translator::codecs() const {
    std::vector<const tandem_codec *> out;
    for (const auto &step : steps_)
        if (step.codec)
            out.push_back(step.codec);
    return out;
}

std::string Translator::describe() const {
    std::string text = format_name(from_);
    for (const Step &step : steps_)
        text += " -> " + format_name(step.to);
    return text;
}

} // namespace tandem::media
