// An allocator for the nodes of the ACD's lines (the trees callers wait in).
// From the general heap, a line's nodes lie scattered between callers'
// records and everything else the engine allocates, and each level of a
// descent costs a cache and TLB miss: with 1,000 callers a queue, insertions
// took most of the time the ACD spends deciding (bench/BENCHMARKS.md).
// Here nodes come from slabs of 512, so the lines stay in a few contiguous
// pages. Freed nodes are kept for reuse and never returned: the lines' size
// is bounded by the callers waiting at the busiest moment.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

namespace tandem::acd {

// Fixed-size blocks of `Size` bytes; one pool for every node type of that
// size. Thread-safe (one ACD thread, but tests build Acds anywhere).
template <std::size_t Size, std::size_t Align> class BlockPool {
public:
    static BlockPool &instance() {
        static BlockPool *pool = new BlockPool; // outlives every tree, also ones destroyed at exit
        return *pool;
    }
    void *take() {
        std::lock_guard<std::mutex> hold(lock_);
        if (!free_) grow();
        Block *b = free_;
        free_ = b->next;
        return b;
    }
    void give(void *p) noexcept {
        std::lock_guard<std::mutex> hold(lock_);
        free_ = new (p) Block{free_};
    }

private:
    struct Block {
        Block *next;
    };
    static constexpr std::size_t kBlock = (std::max(Size, sizeof(Block)) + Align - 1) / Align * Align;
    static constexpr std::size_t kPerSlab = 512;

    void grow() {
        slabs_.push_back(std::make_unique<Slab>());
        std::byte *base = slabs_.back()->bytes;
        for (std::size_t i = kPerSlab; i-- > 0;) free_ = new (base + i * kBlock) Block{free_};
    }
    struct Slab {
        alignas(Align) std::byte bytes[kBlock * kPerSlab];
    };

    std::mutex lock_;
    Block *free_ = nullptr;
    std::vector<std::unique_ptr<Slab>> slabs_;
};

// Under AddressSanitizer the nodes come from the heap, so that it still
// catches a tree node used after it was freed.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kNodePooling = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kNodePooling = false;
#else
inline constexpr bool kNodePooling = true;
#endif
#else
inline constexpr bool kNodePooling = true;
#endif

template <class T> class NodePool {
public:
    using value_type = T;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using pointer = T *;
    using const_pointer = const T *;
    using reference = T &;
    using const_reference = const T &;
    template <class U> struct rebind {
        using other = NodePool<U>;
    };
    NodePool() noexcept = default;
    template <class U> NodePool(const NodePool<U> &) noexcept {}

    T *allocate(std::size_t n) {
        if (n != 1 || !kNodePooling) return std::allocator<T>().allocate(n);
        return static_cast<T *>(BlockPool<sizeof(T), alignof(T)>::instance().take());
    }
    void deallocate(T *p, std::size_t n) noexcept {
        if (n != 1 || !kNodePooling)
            std::allocator<T>().deallocate(p, n);
        else
            BlockPool<sizeof(T), alignof(T)>::instance().give(p);
    }
    template <class U> bool operator==(const NodePool<U> &) const noexcept { return true; }
};

} // namespace tandem::acd
