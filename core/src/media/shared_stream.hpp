#pragma once
// One audio stream heard by many legs at once: music on hold's radio model.
// A single feeder thread (a module's decoder) writes PCM at the stream's
// rate a little ahead of real time; every worker plays the frame of the
// stream clock's current 20 ms period, so all listeners hear the same
// position and a thousand listeners cost one decode, done off the workers.
//
// Thread-safety: write() from one thread at a time (the feeder); read(),
// current_index(), close() and the accessors from any thread. A mutex guards
// the frame ring only for the copy of one frame: a worker takes it once per
// stream per tick, whatever the number of legs listening.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tandem::media {

class SharedStream {
public:
    static constexpr size_t kRing = 32; // frames kept (640 ms)
    static constexpr size_t kLead = 10; // frames the feeder may run ahead of the clock (200 ms)

    SharedStream(std::string name, uint32_t rate, std::string owner);

    const std::string &name() const { return name_; }
    const std::string &owner() const { return owner_; }
    uint32_t rate() const { return rate_; }
    size_t frame_samples() const { return frame_samples_; }

    // The period of the stream clock playing now (0 at creation, +1 every 20 ms).
    uint64_t current_index() const;
    // Feeder: takes as many of `samples` as fit up to kLead frames ahead of
    // the clock and returns how many; fewer than given means "come back in a
    // period". A feeder that fell behind starts again at the current period
    // (the periods it missed were silence for the listeners).
    size_t write(const int16_t *pcm, size_t samples);
    // Copies frame `index` (frame_samples() samples) into `out`; false when
    // it is not there: not written yet, overwritten, or the stream closed.
    bool read(uint64_t index, int16_t *out) const;

    // The feeder is gone: listeners stop hearing it.
    void close() { closed_.store(true, std::memory_order_release); }
    bool closed() const { return closed_.load(std::memory_order_acquire); }

private:
    const std::string name_, owner_;
    const uint32_t rate_;
    const size_t frame_samples_;
    const std::chrono::steady_clock::time_point start_;
    std::atomic<bool> closed_{false};

    mutable std::mutex ring_mutex_;
    std::vector<int16_t> ring_;                 // kRing frames
    std::array<uint64_t, kRing> ring_index_{}; // which period each slot holds (+1; 0: none)

    // feeder-only
    std::vector<int16_t> partial_;
    size_t partial_len_ = 0;
    uint64_t next_ = 0;
    bool started_ = false;
};

// The named streams of the instance (any thread; a mutex, taken when a
// stream opens or closes and when a leg starts hearing one, never per frame).
class StreamDirectory {
public:
    // nullptr (and a reason) when the name is taken or the rate unsupported.
    std::shared_ptr<SharedStream> open(const std::string &name, uint32_t rate, const std::string &owner,
                                       std::string &error);
    void close(const std::shared_ptr<SharedStream> &stream);
    // Closes what a module left open when it unloads.
    void close_owned_by(const std::string &owner);
    std::shared_ptr<SharedStream> find(const std::string &name) const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::shared_ptr<SharedStream>, std::less<>> streams_;
};

} // namespace tandem::media
