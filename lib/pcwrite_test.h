/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcwrite_test.h: libpcwrite's hooks for its own C tests.  Not installed
 * and not exported from libpcwrite.so (lib/libpcwrite.sym leaves them
 * out): the tests link the library's objects statically (libtool's
 * -static of the uninstalled lib/libpcwrite.la).
 */
#ifndef PCWRITE_TEST_H
#define PCWRITE_TEST_H

#include <stddef.h>
#include <stdint.h>

struct pcw_iter;

/*
 * Fault injection: before each copy, FN says how many of BYTES may be
 * copied at POS (fewer makes a short copy).
 */
typedef size_t (*pcw_copy_fault_fn)(void *arg, uint64_t pos, size_t bytes);
void pcw_iter_set_fault(struct pcw_iter *iter, pcw_copy_fault_fn fn, void *arg);

#endif
