#include "edgenas_onnxruntime.h"

#include <dlfcn.h>
#include <stdio.h>

// What `OrtGetApiBase`, the entry point ONNX Runtime exports, returns: the two entries of `OrtApiBase`.
typedef struct EdgeNASOrtApiBase {
    const EdgeNASOrtApi *(*GetApi)(uint32_t version);
    const char *(*GetVersionString)(void);
} EdgeNASOrtApiBase;

EdgeNASOrtLibrary edgenas_ort_load(const char *path, uint32_t apiVersion, char *error, size_t errorCapacity) {
    EdgeNASOrtLibrary library = {NULL, NULL};
    if (errorCapacity > 0) error[0] = '\0';

    // RTLD_LOCAL keeps ORT's bundled protobuf and ONNX symbols away from libonnx, which
    // the exporter's checker links into the same process.
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *reason = dlerror();
        snprintf(error, errorCapacity, "dlopen failed: %s", reason != NULL ? reason : "unknown reason");
        return library;
    }
    dlerror();
    const EdgeNASOrtApiBase *(*getApiBase)(void) = (const EdgeNASOrtApiBase *(*)(void))dlsym(handle, "OrtGetApiBase");
    if (getApiBase == NULL) {
        const char *reason = dlerror();
        snprintf(error, errorCapacity, "the library does not export OrtGetApiBase (%s); it is not ONNX Runtime",
                 reason != NULL ? reason : "symbol not found");
        dlclose(handle);
        return library;
    }
    const EdgeNASOrtApiBase *base = getApiBase();
    const char *version = base->GetVersionString();
    const EdgeNASOrtApi *api = base->GetApi(apiVersion);
    if (api == NULL) {
        // Left open: unloading ONNX Runtime after it started is not supported.
        snprintf(error, errorCapacity, "ONNX Runtime %s does not provide C API version %u",
                 version != NULL ? version : "(unknown version)", apiVersion);
        return library;
    }
    library.api = api;
    library.version = version;
    return library;
}
