#include "media/shared_stream.hpp"

#include "media/formats.hpp"
#include "media/frame.hpp"

#include <algorithm>

namespace tandem::media {

SharedStream::SharedStream(std::string name, uint32_t rate, std::string owner)
    : name_(std::move(name)), owner_(std::move(owner)), rate_(rate), frame_samples_(rate * kPtimeMs / 1000),
      start_(std::chrono::steady_clock::now()), ring_(kRing * frame_samples_), partial_(frame_samples_) {}

uint64_t SharedStream::current_index() const {
    auto elapsed = std::chrono::steady_clock::now() - start_;
    return static_cast<uint64_t>(elapsed / std::chrono::milliseconds(kPtimeMs));
}

size_t SharedStream::write(const int16_t *pcm, size_t samples) {
    const uint64_t now = current_index();
    if (!started_ || next_ < now) {
        started_ = true;
        next_ = now;
        partial_len_ = 0;
    }
    size_t taken = 0;
    while (taken < samples && next_ < now + kLead) {
        const size_t n = std::min(frame_samples_ - partial_len_, samples - taken);
        std::copy_n(pcm + taken, n, partial_.begin() + static_cast<std::ptrdiff_t>(partial_len_));
        partial_len_ += n;
        taken += n;
        if (partial_len_ == frame_samples_) {
            const size_t slot = next_ % kRing;
            std::lock_guard lock(ring_mutex_);
            std::copy(partial_.begin(), partial_.end(), ring_.begin() + static_cast<std::ptrdiff_t>(slot * frame_samples_));
            ring_index_[slot] = next_ + 1;
            ++next_;
            partial_len_ = 0;
        }
    }
    return taken;
}

bool SharedStream::read(uint64_t index, int16_t *out) const {
    if (closed())
        return false;
    const size_t slot = index % kRing;
    std::lock_guard lock(ring_mutex_);
    if (ring_index_[slot] != index + 1)
        return false;
    std::copy_n(ring_.begin() + static_cast<std::ptrdiff_t>(slot * frame_samples_), frame_samples_, out);
    return true;
}

std::shared_ptr<SharedStream> StreamDirectory::open(const std::string &name, uint32_t rate, const std::string &owner,
                                                    std::string &error) {
    if (name.empty()) {
        error = "a stream needs a name";
        return nullptr;
    }
    if (linear_format_for_rate(rate) == kNoFormat) {
        error = "stream " + name + ": rate " + std::to_string(rate) + " is not 8000, 16000 or 48000";
        return nullptr;
    }
    std::lock_guard lock(mutex_);
    if (streams_.contains(name)) {
        error = "stream " + name + " is already open";
        return nullptr;
    }
    auto stream = std::make_shared<SharedStream>(name, rate, owner);
    streams_.emplace(name, stream);
    return stream;
}

void StreamDirectory::close(const std::shared_ptr<SharedStream> &stream) {
    stream->close();
    std::lock_guard lock(mutex_);
    if (auto it = streams_.find(stream->name()); it != streams_.end() && it->second == stream)
        streams_.erase(it);
}

void StreamDirectory::close_owned_by(const std::string &owner) {
    std::lock_guard lock(mutex_);
    std::erase_if(streams_, [&](const auto &entry) {
        if (entry.second->owner() != owner)
            return false;
        entry.second->close();
        return true;
    });
}

std::shared_ptr<SharedStream> StreamDirectory::find(const std::string &name) const {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(name);
    return it == streams_.end() ? nullptr : it->second;
}

} // namespace tandem::media
