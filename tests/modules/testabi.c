/* Built for a future ABI major: must be refused, not loaded. */
#include <tandem/module.h>

static int load(tandem_module *self, const tandem_host *h) {
    (void)self;
    (void)h;
    return TANDEM_OK;
}
static const tandem_module_desc desc = {sizeof(tandem_module_desc), TANDEM_ABI_MAJOR + 1, 0, "testabi", "1.0",
                                        "wrong ABI", NULL, load, NULL, NULL};
TANDEM_MODULE(desc)
