/* CHECK(cond) for the C unit tests (those that compile a C module's own
 * sources): a failed condition is printed with its line and counted in
 * `failures`, which main() returns as the exit status. */
#ifndef TANDEM_TEST_C_CHECK_H
#define TANDEM_TEST_C_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                      \
        }                                                                    \
    } while (0)

#endif
