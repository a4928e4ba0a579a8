/* SPDX-License-Identifier: MIT */
/* PLACEHOLDER: being written. */
#include "proc.h"
