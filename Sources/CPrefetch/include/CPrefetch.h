#ifndef IMBAL_PREFETCH_H
#define IMBAL_PREFETCH_H

/// Software prefetch (Clang's `__builtin_prefetch`, into every cache level), which Swift does
/// not expose: the line holding `address` is asked for ahead of its use, for reading or for
/// writing. A hint only; it never faults.
static inline void imbal_prefetch_read(const void *address) { __builtin_prefetch(address, 0, 3); }
static inline void imbal_prefetch_write(const void *address) { __builtin_prefetch(address, 1, 3); }

#endif
