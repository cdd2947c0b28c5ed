/* Depends on testgood: loading it loads testgood first; testgood cannot
 * unload while this is loaded. */
#include <tandem/module.h>

static const char *const deps[] = {"testgood", NULL};
static int load(tandem_module *self, const tandem_host *h) {
    (void)self;
    (void)h;
    return TANDEM_OK;
}
static const tandem_module_desc desc = {TANDEM_MODULE_DESC_INIT, "testneeds", "1.0", "depends on testgood", deps,
                                        load, NULL, NULL};
TANDEM_MODULE(desc)
