// CPrefetch is header-only (static inline functions, include/CPrefetch.h); SwiftPM builds a C
// target only from at least one source file.
#include "CPrefetch.h"
