/* Depends on a module that does not exist. */
#include <tandem/module.h>

static const char *const deps[] = {"no_such_module", NULL};
static int load(tandem_module *self, const tandem_host *h) {
    (void)self;
    (void)h;
    return TANDEM_OK;
}
static const tandem_module_desc desc = {TANDEM_MODULE_DESC_INIT, "testmissingdep", "1.0", "missing dependency",
                                        deps, load, NULL, NULL};
TANDEM_MODULE(desc)
