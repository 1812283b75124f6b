#include "connx_checker.h"

#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

namespace {

void store_message(char **error_message, const std::string &message) {
    if (error_message == nullptr) return;
    char *buffer = static_cast<char *>(std::malloc(message.size() + 1));
    if (buffer != nullptr) std::memcpy(buffer, message.c_str(), message.size() + 1);
    *error_message = buffer;
}

}  // namespace

extern "C" int edgenas_onnx_check_model(const void *bytes, size_t byte_count, char **error_message) {
    if (error_message != nullptr) *error_message = nullptr;
    try {
        onnx::ModelProto model;
        if (byte_count > static_cast<size_t>(INT_MAX) || !model.ParseFromArray(bytes, static_cast<int>(byte_count))) {
            store_message(error_message, "the " + std::to_string(byte_count) + " bytes do not parse as an ONNX ModelProto");
            return 1;
        }
        onnx::checker::check_model(model);
        // Strict mode with type checks: a node whose shapes or types cannot agree is an error,
        // as in Python's full check.
        const onnx::ShapeInferenceOptions options(/*check_type_val=*/true, /*strict_mode_val=*/1);
        onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
        return 0;
    } catch (const std::exception &error) {
        store_message(error_message, error.what());
        return 2;
    } catch (...) {
        store_message(error_message, "unknown C++ exception while checking the model");
        return 3;
    }
}
