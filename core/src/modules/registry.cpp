#include "modules/registry.hpp"

#include "modules/loader.hpp"

#include <algorithm>
#include <cstring>
#include <cstddef>

namespace tandem {

ModuleUse ModuleUse::acquire(tandem_module *module) {
    ModuleUse use;
    if (module) {
        uint32_t n = module->users.load();
        do {
            if (n & tandem_module::kClosing)
                return use;
        } while (!module->users.compare_exchange_weak(n, n + 1));
    }
    use.module_ = module;
    use.ok_ = true;
    return use;
}

ModuleUse &ModuleUse::operator=(ModuleUse &&other) noexcept {
    if (this != &other) {
        release();
        module_ = std::exchange(other.module_, nullptr);
        ok_ = std::exchange(other.ok_, false);
    }
    return *this;
}

void ModuleUse::release() {
    if (module_ && ok_)
        module_->users.fetch_sub(1);
    module_ = nullptr;
    ok_ = false;
}

media::CodecList RegistrySnapshot::codec_list() const {
    media::CodecList out;
    for (auto &c : codecs)
        out.codecs.push_back(c.desc);
    return out;
}

std::vector<const tandem_file_format *> RegistrySnapshot::file_format_list() const {
    std::vector<const tandem_file_format *> out;
    for (auto &f : file_formats)
        out.push_back(f.desc);
    return out;
}

Registry::Registry() { current_.store(std::make_shared<const RegistrySnapshot>()); }

template <typename Mutate> int Registry::update(Mutate &&mutate) {
    std::lock_guard lock(writer_mutex_);
    auto next = std::make_shared<RegistrySnapshot>(*current_.load());
    int rc = mutate(*next);
    if (rc == TANDEM_OK)
        current_.store(std::move(next), std::memory_order_release);
    return rc;
}

namespace {
template <typename T> bool well_formed(const T *desc, size_t min_size) {
    return desc && desc->struct_size >= min_size && desc->name && desc->name[0];
}
bool contains(const std::vector<std::string> &v, const char *name) {
    return std::find(v.begin(), v.end(), name) != v.end();
}
} // namespace

int Registry::add_channel(std::shared_ptr<tandem_module> owner, const tandem_channel_driver *desc) {
    if (!well_formed(desc, offsetof(tandem_channel_driver, write_frame) + sizeof(void *)) || !desc->request ||
        !desc->hangup || !desc->write_frame)
        return TANDEM_EINVAL;
    return update([&](RegistrySnapshot &s) {
        return s.channels.emplace(desc->name, Registered<tandem_channel_driver>{desc, owner}).second ? TANDEM_OK
                                                                                                       : TANDEM_EEXIST;
    });
}

int Registry::add_function(std::shared_ptr<tandem_module> owner, const tandem_function *desc) {
    if (!well_formed(desc, offsetof(tandem_function, cancel) + sizeof(void *)) || !desc->invoke || !desc->signature ||
        (desc->may_suspend && !desc->cancel))
        return TANDEM_EINVAL;
    for (const char *p = desc->signature; *p; ++p)
        if (!std::strchr("sinb|", *p))
            return TANDEM_EINVAL;
    return update([&](RegistrySnapshot &s) {
        if (contains(reserved_functions_, desc->name))
            return TANDEM_EEXIST;
        return s.functions.emplace(desc->name, Registered<tandem_function>{desc, owner}).second ? TANDEM_OK
                                                                                                : TANDEM_EEXIST;
    });
}

int Registry::add_codec(std::shared_ptr<tandem_module> owner, const tandem_codec *desc) {
    if (!well_formed(desc, offsetof(tandem_codec, decode) + sizeof(void *)) || !desc->encode || !desc->decode ||
        !desc->sample_rate)
        return TANDEM_EINVAL;
    return update([&](RegistrySnapshot &s) {
        for (auto &c : s.codecs)
            if (std::strcmp(c.desc->name, desc->name) == 0)
                return TANDEM_EEXIST;
        s.codecs.push_back({desc, owner});
        return TANDEM_OK;
    });
}

int Registry::add_file_format(std::shared_ptr<tandem_module> owner, const tandem_file_format *desc) {
    if (!well_formed(desc, offsetof(tandem_file_format, close) + sizeof(void *)) || !desc->extensions ||
        !desc->open_read || !desc->read || !desc->close)
        return TANDEM_EINVAL;
    return update([&](RegistrySnapshot &s) {
        for (auto &f : s.file_formats)
            if (std::strcmp(f.desc->name, desc->name) == 0)
                return TANDEM_EEXIST;
        s.file_formats.push_back({desc, owner});
        return TANDEM_OK;
    });
}

int Registry::add_cdr_sink(std::shared_ptr<tandem_module> owner, const tandem_cdr_sink *desc) {
    if (!well_formed(desc, offsetof(tandem_cdr_sink, write) + sizeof(void *)) || !desc->write)
        return TANDEM_EINVAL;
    return update([&](RegistrySnapshot &s) {
        for (auto &k : s.cdr_sinks)
            if (std::strcmp(k.desc->name, desc->name) == 0)
                return TANDEM_EEXIST;
        s.cdr_sinks.push_back({desc, owner});
        return TANDEM_OK;
    });
}

int Registry::add_command(std::shared_ptr<tandem_module> owner, const tandem_console_command *desc) {
    if (!well_formed(desc, offsetof(tandem_console_command, run) + sizeof(void *)) || !desc->run)
        return TANDEM_EINVAL;
    return update([&](RegistrySnapshot &s) {
        if (contains(reserved_commands_, desc->name))
            return TANDEM_EEXIST;
        return s.commands.emplace(desc->name, Registered<tandem_console_command>{desc, owner}).second ? TANDEM_OK
                                                                                                       : TANDEM_EEXIST;
    });
}

void Registry::reserve_function_names(std::vector<std::string> names) {
    std::lock_guard lock(writer_mutex_);
    reserved_functions_ = std::move(names);
}

void Registry::reserve_command_names(std::vector<std::string> names) {
    std::lock_guard lock(writer_mutex_);
    reserved_commands_ = std::move(names);
}

void Registry::remove_owner(const tandem_module *owner) {
    update([&](RegistrySnapshot &s) {
        auto owned = [owner](const auto &entry) { return entry.owner.get() == owner; };
        std::erase_if(s.channels, [&](const auto &kv) { return owned(kv.second); });
        std::erase_if(s.functions, [&](const auto &kv) { return owned(kv.second); });
        std::erase_if(s.commands, [&](const auto &kv) { return owned(kv.second); });
        std::erase_if(s.codecs, owned);
        std::erase_if(s.file_formats, owned);
        std::erase_if(s.cdr_sinks, owned);
        return TANDEM_OK;
    });
}

} // namespace tandem
