#pragma once
// Intrusive reference counting for objects shared with modules through the
// C ABI (legs): the count lives in the object, so a raw pointer handed to a
// module can be turned back into an owning reference.
#include <atomic>
#include <utility>

namespace tandem {

template <typename T> class Ref {
public:
    Ref() = default;
    Ref(std::nullptr_t) {}
    explicit Ref(T *p, bool add_ref = true) : p_(p) {
        if (p_ && add_ref)
            p_->ref();
    }
    Ref(const Ref &o) : Ref(o.p_) {}
    Ref(Ref &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    Ref &operator=(Ref o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~Ref() {
        if (p_)
            p_->unref();
    }
    T *get() const { return p_; }
    T *operator->() const { return p_; }
    T &operator*() const { return *p_; }
    explicit operator bool() const { return p_ != nullptr; }
    bool operator==(const Ref &o) const { return p_ == o.p_; }
    T *release() { return std::exchange(p_, nullptr); }

private:
    T *p_ = nullptr;
};

class RefCounted {
public:
    void ref() const { refs_.fetch_add(1, std::memory_order_relaxed); }
    void unref() const {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
            destroy();
    }

protected:
    virtual ~RefCounted() = default;
    virtual void destroy() const { delete this; }

private:
    mutable std::atomic<int> refs_{0};
};

} // namespace tandem
