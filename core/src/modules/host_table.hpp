#pragma once
// The tandem_host table handed to every module's load().
#include "tandem/module.h"

namespace tandem {
const tandem_host *host_table();
}
