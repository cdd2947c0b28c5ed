// Console requests and replies: anything a local client writes to the socket.
#include "console/protocol.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string line(reinterpret_cast<const char *>(data), size);
    std::vector<std::string> args;
    std::string error;
    if (tandem::console::decode_request(line, args, error)) {
        std::vector<std::string> again;
        if (!tandem::console::decode_request(tandem::console::encode_request(args), again, error) || again != args)
            __builtin_trap(); // encoding must round-trip
    }
    tandem::console::Reply reply;
    tandem::console::decode_reply(line, reply, error);
    return 0;
}
