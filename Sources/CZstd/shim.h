// zstd's one-shot API with advanced parameters (frame checksums), and its dictionary builder.
// Its size sentinels are macros.
#ifndef IMBAL_DIST_CZSTD_SHIM_H
#define IMBAL_DIST_CZSTD_SHIM_H
#include <zstd.h>
#include <zdict.h>
static inline unsigned long long czstd_contentsize_unknown(void) { return ZSTD_CONTENTSIZE_UNKNOWN; }
static inline unsigned long long czstd_contentsize_error(void) { return ZSTD_CONTENTSIZE_ERROR; }
#endif
