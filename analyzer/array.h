/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Growable arrays: the one helper for the idiom, so that every module
 * grows its arrays the same way (doubling, overflow-checked, the old block
 * kept on failure).
 */
#ifndef IPCRACE_ARRAY_H
#define IPCRACE_ARRAY_H

#include <stddef.h>

/*
 * Makes room for at least `need` elements of elem_size bytes in the array
 * whose pointer is at itemsp (a T **, passed as void *) and whose capacity
 * is *cap. New room is not initialized. 0, or -ENOMEM with the array and
 * *cap unchanged.
 */
int array__reserve(void *itemsp, size_t *cap, size_t need, size_t elem_size);

/*
 * The same with a first capacity of `first` elements instead of 16: for
 * arrays that are many and mostly short (one per word, per thread).
 */
int array__reserve_min(void *itemsp, size_t *cap, size_t need, size_t elem_size, size_t first);

/* The same, and the new room zeroed (from *cap's old value on). */
int array__reserve_zero(void *itemsp, size_t *cap, size_t need, size_t elem_size);

#endif /* IPCRACE_ARRAY_H */
