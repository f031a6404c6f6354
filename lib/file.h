/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * file.h: layer 11: one file's write (perform_write.c, file.c), entries
 * (entry.c), listing (list.c); the sources of entries are src.h's.
 */
#ifndef PCW_FILE_H
#define PCW_FILE_H

#include "namei.h"
#include "iter.h"

#endif /* PCW_FILE_H */
