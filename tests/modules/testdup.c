/* Declares the same name as testgood from another file: must be refused. */
#include <tandem/module.h>

static int load(tandem_module *self, const tandem_host *h) {
    (void)self;
    (void)h;
    return TANDEM_OK;
}
static const tandem_module_desc desc = {TANDEM_MODULE_DESC_INIT, "testgood", "2.0", "duplicate name", NULL,
                                        load, NULL, NULL};
TANDEM_MODULE(desc)
