/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder: 'bulwark log' is being written. */
#include "device.h"

static int run(struct cli_args *a)
{
    return cli_usage(a, "not built yet");
}

static const struct cli_opt opts[] = {{NULL, NULL, NULL}};

const struct cli_cmd cli_cmd_log = {"log", "(being written)", "", "", opts, 0, 4, run};
