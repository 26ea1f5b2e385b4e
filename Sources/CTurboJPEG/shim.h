// libjpeg-turbo's TurboJPEG API: every call returns an error code (no setjmp/longjmp).
#ifndef IMBAL_DIST_CTURBOJPEG_SHIM_H
#define IMBAL_DIST_CTURBOJPEG_SHIM_H
#include <turbojpeg.h>
#endif
