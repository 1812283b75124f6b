#ifndef EDGENAS_CZLIB_SHIM_H
#define EDGENAS_CZLIB_SHIM_H
// Debian ships Fashion-MNIST gzip-compressed; zlib reads it in-process.
#include <zlib.h>
#endif
