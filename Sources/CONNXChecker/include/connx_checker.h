#ifndef EDGENAS_CONNX_CHECKER_H
#define EDGENAS_CONNX_CHECKER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Checks a serialized ONNX model with the system's libonnx: the full model checker
/// (`onnx::checker::check_model`) and then strict shape inference with type checking
/// (`onnx::shape_inference::InferShapes`), which is what Python's
/// `onnx.checker.check_model(model, full_check=True)` runs.
///
/// Returns 0 when the model passes. Otherwise returns a non-zero code (1: the bytes are not
/// a ModelProto, 2: the checker or shape inference rejected the model, 3: an unexpected
/// failure) and, when `error_message` is not NULL, stores a NUL-terminated message in a
/// buffer allocated with malloc that the caller releases with free(). No C++ exception
/// crosses this function.
int edgenas_onnx_check_model(const void *_Nonnull bytes, size_t byte_count,
                             char *_Nullable *_Nullable error_message);

#ifdef __cplusplus
}
#endif

#endif
