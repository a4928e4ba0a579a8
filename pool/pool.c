/* SPDX-License-Identifier: MIT */
/* PLACEHOLDER: being written. */
#include "pool.h"
