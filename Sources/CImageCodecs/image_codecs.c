#include "image_codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

static int fail(char *error, size_t error_size, const char *message) {
    if (error && error_size > 0) snprintf(error, error_size, "%s", message);
    return 1;
}

static int is_png(const unsigned char *data, size_t size) {
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return size >= 8 && memcmp(data, signature, 8) == 0;
}

static int is_jpeg(const unsigned char *data, size_t size) {
    return size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff;
}

// libpng's simplified API reports errors in image.message and never jumps out.
static int decode_png(const unsigned char *data, size_t size, int channels, unsigned char **pixels,
                      int *width, int *height, char *error, size_t error_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) return fail(error, error_size, image.message);
    if ((size_t)image.width * image.height > EDGENAS_IMAGE_MAX_PIXELS) {
        png_image_free(&image);
        return fail(error, error_size, "image larger than 64 Mpixels");
    }
    image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    size_t bytes = PNG_IMAGE_SIZE(image);
    unsigned char *buffer = malloc(bytes);
    if (!buffer) {
        png_image_free(&image);
        return fail(error, error_size, "out of memory");
    }
    png_color black = {0, 0, 0};
    if (!png_image_finish_read(&image, &black, buffer, 0, NULL)) {
        free(buffer);
        return fail(error, error_size, image.message);
    }
    *pixels = buffer;
    *width = (int)image.width;
    *height = (int)image.height;
    return 0;
}

struct jpeg_failure {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void jpeg_fail(j_common_ptr info) {
    struct jpeg_failure *failure = (struct jpeg_failure *)info->err;
    (*info->err->format_message)(info, failure->message);
    longjmp(failure->jump, 1);
}

// Warnings (corrupt data libjpeg can skip) are errors too: a damaged file must not train.
static void jpeg_warn(j_common_ptr info, int level) {
    if (level < 0) jpeg_fail(info);
}

static int decode_jpeg(const unsigned char *data, size_t size, int channels, unsigned char **pixels,
                       int *width, int *height, char *error, size_t error_size) {
    struct jpeg_decompress_struct info;
    struct jpeg_failure failure;
    unsigned char *volatile buffer = NULL;
    info.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = jpeg_fail;
    failure.manager.emit_message = jpeg_warn;
    if (setjmp(failure.jump)) {
        jpeg_destroy_decompress(&info);
        free(buffer);
        return fail(error, error_size, failure.message);
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&info);
        return fail(error, error_size, "CMYK JPEG is not supported; save it as RGB");
    }
    if ((size_t)info.image_width * info.image_height > EDGENAS_IMAGE_MAX_PIXELS) {
        jpeg_destroy_decompress(&info);
        return fail(error, error_size, "image larger than 64 Mpixels");
    }
    info.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&info);
    size_t stride = (size_t)info.output_width * (size_t)info.output_components;
    buffer = malloc(stride * info.output_height);
    if (!buffer) {
        jpeg_destroy_decompress(&info);
        return fail(error, error_size, "out of memory");
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = buffer + stride * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    *width = (int)info.output_width;
    *height = (int)info.output_height;
    jpeg_destroy_decompress(&info);
    *pixels = buffer;
    return 0;
}

int edgenas_image_decode(const unsigned char *data, size_t size, int channels, unsigned char **pixels,
                         int *width, int *height, char *error, size_t error_size) {
    if (channels != 1 && channels != 3) return fail(error, error_size, "channels must be 1 or 3");
    if (is_png(data, size)) return decode_png(data, size, channels, pixels, width, height, error, error_size);
    if (is_jpeg(data, size)) return decode_jpeg(data, size, channels, pixels, width, height, error, error_size);
    return fail(error, error_size, "neither a PNG nor a JPEG file (unknown signature)");
}

static int encode_png(const unsigned char *pixels, int width, int height, int channels, unsigned char **output,
                      size_t *output_size, char *error, size_t error_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    png_alloc_size_t bytes = 0;
    if (!png_image_write_to_memory(&image, NULL, &bytes, 0, pixels, 0, NULL)) return fail(error, error_size, image.message);
    unsigned char *buffer = malloc(bytes);
    if (!buffer) return fail(error, error_size, "out of memory");
    if (!png_image_write_to_memory(&image, buffer, &bytes, 0, pixels, 0, NULL)) {
        free(buffer);
        return fail(error, error_size, image.message);
    }
    *output = buffer;
    *output_size = bytes;
    return 0;
}

static int encode_jpeg(const unsigned char *pixels, int width, int height, int channels, int quality,
                       unsigned char **output, size_t *output_size, char *error, size_t error_size) {
    struct jpeg_compress_struct info;
    struct jpeg_failure failure;
    unsigned char *buffer = NULL;
    unsigned long bytes = 0;
    info.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = jpeg_fail;
    if (setjmp(failure.jump)) {
        jpeg_destroy_compress(&info);
        free(buffer);
        return fail(error, error_size, failure.message);
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &buffer, &bytes);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = channels;
    info.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality > 100 ? 100 : quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    size_t stride = (size_t)width * (size_t)channels;
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + stride * info.next_scanline);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    *output = buffer;
    *output_size = bytes;
    return 0;
}

int edgenas_image_encode(const unsigned char *pixels, int width, int height, int channels, int jpeg_quality,
                         unsigned char **output, size_t *output_size, char *error, size_t error_size) {
    if (channels != 1 && channels != 3) return fail(error, error_size, "channels must be 1 or 3");
    if (width <= 0 || height <= 0) return fail(error, error_size, "width and height must be positive");
    if (jpeg_quality > 0) return encode_jpeg(pixels, width, height, channels, jpeg_quality, output, output_size, error, error_size);
    return encode_png(pixels, width, height, channels, output, output_size, error, error_size);
}

void edgenas_image_free(void *buffer) { free(buffer); }
