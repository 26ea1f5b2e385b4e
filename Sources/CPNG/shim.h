// libpng's "simplified API" (png_image_*), which reports errors through return values and
// needs no setjmp, so Swift can call it safely; and one reader of label masks, which keeps the
// setjmp that libpng's own API needs on the C side.
#ifndef IMBAL_DIST_CPNG_SHIM_H
#define IMBAL_DIST_CPNG_SHIM_H
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static inline unsigned int cpng_image_version(void) { return PNG_IMAGE_VERSION; }
static inline unsigned int cpng_format_gray(void) { return PNG_FORMAT_GRAY; }
static inline unsigned int cpng_format_rgb(void) { return PNG_FORMAT_RGB; }
static inline unsigned int cpng_format_rgba(void) { return PNG_FORMAT_RGBA; }
static inline unsigned int cpng_format_rgb_colormap(void) { return PNG_FORMAT_RGB_COLORMAP; }

typedef struct {
  char message[256];
} cpng_failure;

static inline void cpng_fail(png_structp png, png_const_charp message) {
  cpng_failure *failure = (cpng_failure *)png_get_error_ptr(png);
  snprintf(failure->message, sizeof failure->message, "%s", message);
  png_longjmp(png, 1);
}

static inline void cpng_ignore_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

/// A label mask's samples as stored, one byte per pixel, untransformed: the palette indices of
/// a palette PNG (VOC's SegmentationClass) or the values of a grey PNG of at most 8 bits. Returns
/// a malloc'd width×height buffer to free(), or NULL with `message` saying why; a mask declaring
/// more than `max_pixels` pixels is refused before any allocation.
static inline unsigned char *cpng_read_label_mask(
  const char *path, unsigned long max_pixels, unsigned *width, unsigned *height, char *message,
  size_t message_size) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    snprintf(message, message_size, "%s", strerror(errno));
    return NULL;
  }
  cpng_failure failure = {{0}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, cpng_fail, cpng_ignore_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  unsigned char *volatile pixels = NULL;
  png_bytep *volatile rows = NULL;
  if (!info) {
    snprintf(message, message_size, "libpng cannot start");
    png_destroy_read_struct(&png, NULL, NULL);
    fclose(file);
    return NULL;
  }
  if (setjmp(png_jmpbuf(png))) {
    snprintf(message, message_size, "not a readable PNG: %s", failure.message);
    free(pixels);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    return NULL;
  }
  png_init_io(png, file);
  png_read_info(png, info);
  png_uint_32 w = 0, h = 0;
  int depth = 0, type = 0;
  png_get_IHDR(png, info, &w, &h, &depth, &type, NULL, NULL, NULL);
  if ((type != PNG_COLOR_TYPE_PALETTE && type != PNG_COLOR_TYPE_GRAY) || depth > 8) {
    snprintf(
      message, message_size,
      "a label mask is a palette PNG or a grey PNG of at most 8 bits; this one is %s of %d bits",
      type == PNG_COLOR_TYPE_RGB ? "RGB" : type == PNG_COLOR_TYPE_RGB_ALPHA ? "RGBA" : "grey with alpha", depth);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    return NULL;
  }
  if ((unsigned long)w * (unsigned long)h > max_pixels) {
    snprintf(message, message_size, "it declares %ux%u pixels, more than the limit of %lu", (unsigned)w, (unsigned)h, max_pixels);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    return NULL;
  }
  if (depth < 8) png_set_packing(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  pixels = malloc((size_t)w * h);
  rows = malloc(sizeof(png_bytep) * h);
  if (!pixels || !rows) png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * w;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  free(rows);
  png_destroy_read_struct(&png, &info, NULL);
  fclose(file);
  *width = w;
  *height = h;
  return pixels;
}
#endif
