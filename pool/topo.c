/* SPDX-License-Identifier: MIT */
/* PLACEHOLDER: being written. */
#include "topo.h"
