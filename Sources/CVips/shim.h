// libvips (https://www.libvips.org): decoding, EXIF orientation, colour and alpha handling, and
// area-aware resizing of the photos `imbal-dist pack` reads. Its operations take NULL-ended
// variadic options, which Swift cannot call: each wrapper here fixes the options it needs.
#ifndef IMBAL_DIST_CVIPS_SHIM_H
#define IMBAL_DIST_CVIPS_SHIM_H
#include <vips/vips.h>

static inline int cvips_init(void) {
  if (VIPS_INIT("imbal-dist")) return -1;
  // Every file is read once: the operation cache would only hold on to their pixels.
  vips_cache_set_max(0);
  return 0;
}

/// The image's header (size, bands) without decoding its pixels.
static inline VipsImage *cvips_open(const char *path) { return vips_image_new_from_file(path, NULL); }

/// Decoded at its own size, turned upright by its EXIF orientation.
static inline int cvips_load_upright(const char *path, VipsImage **out) {
  VipsImage *image = vips_image_new_from_file(path, NULL);
  if (!image) return -1;
  int status = vips_autorot(image, out, NULL);
  g_object_unref(image);
  return status;
}

/// Decoded as stored, without turning it by its EXIF orientation (a label mask was drawn on
/// the stored pixels).
static inline int cvips_load_as_stored(const char *path, VipsImage **out) {
  *out = vips_image_new_from_file(path, NULL);
  return *out ? 0 : -1;
}

/// Decoded (shrunk on load where the format allows), upright, resized to `width`×`height`:
/// policy 0 covers the box and crops the centre, 1 fits inside it, 2 stretches to it.
static inline int cvips_thumbnail(const char *path, VipsImage **out, int width, int height, int policy) {
  switch (policy) {
  case 0: return vips_thumbnail(path, out, width, "height", height, "crop", VIPS_INTERESTING_CENTRE, NULL);
  case 1: return vips_thumbnail(path, out, width, "height", height, NULL);
  default: return vips_thumbnail(path, out, width, "height", height, "size", VIPS_SIZE_FORCE, NULL);
  }
}

/// Resized by `hscale` × `vscale` with libvips's default Lanczos-3 kernel (antialiased when
/// shrinking); the output is round(width·hscale) × round(height·vscale).
static inline int cvips_resize(VipsImage *in, VipsImage **out, double hscale, double vscale) {
  return vips_resize(in, out, hscale, "vscale", vscale, NULL);
}

/// Alpha composited onto `background` (one value per colour band).
static inline int cvips_flatten(VipsImage *in, VipsImage **out, const double *background, int count) {
  VipsArrayDouble *colour = vips_array_double_new(background, count);
  int status = vips_flatten(in, out, "background", colour, NULL);
  vips_area_unref(VIPS_AREA(colour));
  return status;
}

/// Into 8-bit sRGB (`colour`) or 8-bit grey.
static inline int cvips_to_8bit(VipsImage *in, VipsImage **out, int colour) {
  VipsImage *converted = NULL;
  if (vips_colourspace(in, &converted, colour ? VIPS_INTERPRETATION_sRGB : VIPS_INTERPRETATION_B_W, NULL))
    return -1;
  int status = vips_cast_uchar(converted, out, NULL);
  g_object_unref(converted);
  return status;
}

/// Centred in a `width`×`height` canvas of `background`.
static inline int cvips_embed_centre(
  VipsImage *in, VipsImage **out, int width, int height, const double *background, int count) {
  VipsArrayDouble *colour = vips_array_double_new(background, count);
  int status = vips_embed(
    in, out, (width - vips_image_get_width(in)) / 2, (height - vips_image_get_height(in)) / 2, width, height,
    "extend", VIPS_EXTEND_BACKGROUND, "background", colour, NULL);
  vips_area_unref(VIPS_AREA(colour));
  return status;
}

static inline int cvips_has_alpha(VipsImage *image) { return vips_image_hasalpha(image); }
static inline void cvips_unref(VipsImage *image) { g_object_unref(image); }
#endif
