// OpenBLAS's CBLAS interface (cblas_sgemm and friends, openblas_set_num_threads).
#ifndef IMBAL_DIST_CBLAS_SHIM_H
#define IMBAL_DIST_CBLAS_SHIM_H
#include <cblas.h>
#endif
