/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder: 'bulwark token' is being written. */
#include "device.h"

static int run(struct cli_args *a)
{
    return cli_usage(a, "not built yet");
}

static const struct cli_opt opts[] = {{NULL, NULL, NULL}};

const struct cli_cmd cli_cmd_token = {"token", "(being written)", "", "", opts, 0, 4, run};
