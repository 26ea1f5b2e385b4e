// zlib's gz* file interface, used to read .gz IDX files (and plain files, which gzread passes through).
#ifndef IMBAL_DIST_CZLIB_SHIM_H
#define IMBAL_DIST_CZLIB_SHIM_H
#include <zlib.h>
#endif
