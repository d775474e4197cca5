/* SPDX-License-Identifier: Apache-2.0 */
/* bulwark: the whole public API of libbulwark in one include. */
#ifndef BULWARK_BULWARK_H
#define BULWARK_BULWARK_H

#define BULWARK_VERSION "0.1.0"

#include "err.h"
#include "core.h"
#include "crypto.h"
#include "cbor.h"
#include "cose.h"
#include "suit.h"
#include "update.h"
#include "store.h"
#include "token.h"

#endif
