#ifndef EDGENAS_IMAGE_CODECS_H
#define EDGENAS_IMAGE_CODECS_H
// PNG (libpng) and JPEG (libjpeg-turbo) in memory, behind plain C functions: libjpeg reports
// errors by longjmp, which Swift cannot catch, so every call into either library stays here.

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The largest image accepted, in pixels (width × height): larger files are refused before
/// their pixels are allocated.
#define EDGENAS_IMAGE_MAX_PIXELS 67108864

/// Decodes a PNG or a JPEG (told apart by their signatures) into 8-bit pixels, interleaved,
/// `channels` per pixel: 1 (grey) or 3 (RGB); colour is converted as the library does, alpha
/// is composited on black. On success returns 0 and sets `pixels` (free it with
/// `edgenas_image_free`), `width` and `height`; on failure returns non-zero and writes a
/// message to `error`.
int edgenas_image_decode(const unsigned char *data, size_t size, int channels,
                         unsigned char **pixels, int *width, int *height,
                         char *error, size_t error_size);

/// Encodes interleaved 8-bit pixels (`channels` 1 or 3) as PNG, or as JPEG at `jpeg_quality`
/// (1–100) when it is positive. On success returns 0 and sets `output` (free it with
/// `edgenas_image_free`) and `output_size`.
int edgenas_image_encode(const unsigned char *pixels, int width, int height, int channels, int jpeg_quality,
                         unsigned char **output, size_t *output_size, char *error, size_t error_size);

void edgenas_image_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif
