/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the machine must have before anything is loaded (DESIGN.md). */
#ifndef IPCRACE_PREFLIGHT_H
#define IPCRACE_PREFLIGHT_H

/* 0, or -EPERM / -ENOENT with one line printed saying what is missing. */
int preflight__check(void);

#endif /* IPCRACE_PREFLIGHT_H */
