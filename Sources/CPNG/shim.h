// libpng's "simplified API" (png_image_*), which reports errors through return values and
// needs no setjmp, so Swift can call it safely.
#ifndef IMBAL_DIST_CPNG_SHIM_H
#define IMBAL_DIST_CPNG_SHIM_H
#include <png.h>
static inline unsigned int cpng_image_version(void) { return PNG_IMAGE_VERSION; }
static inline unsigned int cpng_format_gray(void) { return PNG_FORMAT_GRAY; }
static inline unsigned int cpng_format_rgb(void) { return PNG_FORMAT_RGB; }
static inline unsigned int cpng_format_rgba(void) { return PNG_FORMAT_RGBA; }
#endif
