#ifndef EDGENAS_ONNXRUNTIME_H
#define EDGENAS_ONNXRUNTIME_H
// The part of the ONNX Runtime C API that EdgeNAS uses, written for this project.
//
// ONNX Runtime is loaded at run time with dlopen, so nothing here links against it.
// `OrtApi` is an append-only table of function pointers: a slot never moves once
// released, which is what lets this header declare only the slots EdgeNAS calls and pad
// the others. Slot indices follow the order of `struct OrtApi` in ONNX Runtime's
// public header (include/onnxruntime/core/session/onnxruntime_c_api.h); each used slot
// has a _Static_assert on its offset (index × pointer size). Every declared slot is
// called when the EdgeNASRuntime tests run, and what comes back (names, shapes, element
// types, status codes) would be wrong or crash if an index were off.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Function-pointer slots are marked _Nonnull so that Swift calls them directly; other
// pointers leave nullability unspecified, as ONNX Runtime's own header does.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wnullability-completeness"

// Opaque ONNX Runtime objects.
typedef struct OrtEnv OrtEnv;
typedef struct OrtStatus OrtStatus;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtSession OrtSession;
typedef struct OrtValue OrtValue;
typedef struct OrtRunOptions OrtRunOptions;
typedef struct OrtTypeInfo OrtTypeInfo;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtAllocator OrtAllocator;

// Enumerations with the values ONNX Runtime uses (ABI: `int`-sized C enums).
typedef enum EdgeNASOrtLoggingLevel {
    EdgeNASOrtLoggingLevelVerbose = 0,
    EdgeNASOrtLoggingLevelInfo = 1,
    EdgeNASOrtLoggingLevelWarning = 2,
    EdgeNASOrtLoggingLevelError = 3,
    EdgeNASOrtLoggingLevelFatal = 4,
} EdgeNASOrtLoggingLevel;

typedef enum EdgeNASOrtGraphOptimizationLevel {
    EdgeNASOrtGraphOptimizationDisableAll = 0,
    EdgeNASOrtGraphOptimizationEnableBasic = 1,
    EdgeNASOrtGraphOptimizationEnableExtended = 2,
    EdgeNASOrtGraphOptimizationEnableAll = 99,
} EdgeNASOrtGraphOptimizationLevel;

typedef enum EdgeNASOrtAllocatorType {
    EdgeNASOrtAllocatorInvalid = -1,
    EdgeNASOrtAllocatorDevice = 0,
    EdgeNASOrtAllocatorArena = 1,
} EdgeNASOrtAllocatorType;

typedef enum EdgeNASOrtMemoryType {
    EdgeNASOrtMemoryTypeCPUInput = -2,
    EdgeNASOrtMemoryTypeCPUOutput = -1,
    EdgeNASOrtMemoryTypeDefault = 0,
} EdgeNASOrtMemoryType;

/// ONNX TensorProto.DataType numbering: 1 is float32.
typedef enum EdgeNASOrtElementType {
    EdgeNASOrtElementTypeUndefined = 0,
    EdgeNASOrtElementTypeFloat = 1,
} EdgeNASOrtElementType;

// Every slot that returns a status returns NULL on success; a non-NULL status must be
// released with ReleaseStatus.
typedef OrtStatus *EdgeNASOrtStatusPointer;

/// The used prefix of ONNX Runtime's `OrtApi` (slots 0 to 100); the number after each
/// slot is its index.
typedef struct EdgeNASOrtApi {
    void *unusedSlots0To0[1];  // CreateStatus
    int (*_Nonnull GetErrorCode)(const OrtStatus *status);  // 1
    const char *(*_Nonnull GetErrorMessage)(const OrtStatus *status);  // 2
    EdgeNASOrtStatusPointer (*_Nonnull CreateEnv)(  // 3
        EdgeNASOrtLoggingLevel logSeverityLevel, const char *logIdentifier, OrtEnv **out);
    void *unusedSlots4To6[3];
    EdgeNASOrtStatusPointer (*_Nonnull CreateSession)(  // 7
        const OrtEnv *env, const char *modelPath, const OrtSessionOptions *options, OrtSession **out);
    EdgeNASOrtStatusPointer (*_Nonnull CreateSessionFromArray)(  // 8
        const OrtEnv *env, const void *modelData, size_t modelByteCount, const OrtSessionOptions *options,
        OrtSession **out);
    EdgeNASOrtStatusPointer (*_Nonnull Run)(  // 9
        OrtSession *session, const OrtRunOptions *runOptions, const char *const *inputNames,
        const OrtValue *const *inputs, size_t inputCount, const char *const *outputNames, size_t outputCount,
        OrtValue **outputs);
    EdgeNASOrtStatusPointer (*_Nonnull CreateSessionOptions)(OrtSessionOptions **out);  // 10
    void *unusedSlots11To22[12];
    EdgeNASOrtStatusPointer (*_Nonnull SetSessionGraphOptimizationLevel)(  // 23
        OrtSessionOptions *options, EdgeNASOrtGraphOptimizationLevel level);
    EdgeNASOrtStatusPointer (*_Nonnull SetIntraOpNumThreads)(OrtSessionOptions *options, int threadCount);  // 24
    EdgeNASOrtStatusPointer (*_Nonnull SetInterOpNumThreads)(OrtSessionOptions *options, int threadCount);  // 25
    void *unusedSlots26To29[4];
    EdgeNASOrtStatusPointer (*_Nonnull SessionGetInputCount)(const OrtSession *session, size_t *out);  // 30
    EdgeNASOrtStatusPointer (*_Nonnull SessionGetOutputCount)(const OrtSession *session, size_t *out);  // 31
    void *unusedSlots32To32[1];  // SessionGetOverridableInitializerCount
    EdgeNASOrtStatusPointer (*_Nonnull SessionGetInputTypeInfo)(  // 33
        const OrtSession *session, size_t index, OrtTypeInfo **out);
    void *unusedSlots34To35[2];
    EdgeNASOrtStatusPointer (*_Nonnull SessionGetInputName)(  // 36
        const OrtSession *session, size_t index, OrtAllocator *allocator, char **out);
    EdgeNASOrtStatusPointer (*_Nonnull SessionGetOutputName)(  // 37
        const OrtSession *session, size_t index, OrtAllocator *allocator, char **out);
    void *unusedSlots38To48[11];
    EdgeNASOrtStatusPointer (*_Nonnull CreateTensorWithDataAsOrtValue)(  // 49
        const OrtMemoryInfo *info, void *data, size_t dataByteCount, const int64_t *shape, size_t shapeLength,
        EdgeNASOrtElementType type, OrtValue **out);
    void *unusedSlots50To50[1];  // IsTensor
    EdgeNASOrtStatusPointer (*_Nonnull GetTensorMutableData)(OrtValue *value, void **out);  // 51
    void *unusedSlots52To54[3];
    EdgeNASOrtStatusPointer (*_Nonnull CastTypeInfoToTensorInfo)(  // 55
        const OrtTypeInfo *typeInfo, const OrtTensorTypeAndShapeInfo **out);
    void *unusedSlots56To59[4];
    EdgeNASOrtStatusPointer (*_Nonnull GetTensorElementType)(  // 60
        const OrtTensorTypeAndShapeInfo *info, EdgeNASOrtElementType *out);
    EdgeNASOrtStatusPointer (*_Nonnull GetDimensionsCount)(const OrtTensorTypeAndShapeInfo *info, size_t *out);  // 61
    EdgeNASOrtStatusPointer (*_Nonnull GetDimensions)(  // 62
        const OrtTensorTypeAndShapeInfo *info, int64_t *dimensions, size_t dimensionCount);
    void *unusedSlots63To64[2];
    EdgeNASOrtStatusPointer (*_Nonnull GetTensorTypeAndShape)(  // 65
        const OrtValue *value, OrtTensorTypeAndShapeInfo **out);
    void *unusedSlots66To68[3];
    EdgeNASOrtStatusPointer (*_Nonnull CreateCpuMemoryInfo)(  // 69
        EdgeNASOrtAllocatorType type, EdgeNASOrtMemoryType memoryType, OrtMemoryInfo **out);
    void *unusedSlots70To75[6];
    EdgeNASOrtStatusPointer (*_Nonnull AllocatorFree)(OrtAllocator *allocator, void *pointer);  // 76
    void *unusedSlots77To77[1];  // AllocatorGetInfo
    EdgeNASOrtStatusPointer (*_Nonnull GetAllocatorWithDefaultOptions)(OrtAllocator **out);  // 78
    void *unusedSlots79To91[13];
    void (*_Nonnull ReleaseEnv)(OrtEnv *env);  // 92
    void (*_Nonnull ReleaseStatus)(OrtStatus *status);  // 93
    void (*_Nonnull ReleaseMemoryInfo)(OrtMemoryInfo *info);  // 94
    void (*_Nonnull ReleaseSession)(OrtSession *session);  // 95
    void (*_Nonnull ReleaseValue)(OrtValue *value);  // 96
    void *unusedSlots97To97[1];  // ReleaseRunOptions
    void (*_Nonnull ReleaseTypeInfo)(OrtTypeInfo *typeInfo);  // 98
    void (*_Nonnull ReleaseTensorTypeAndShapeInfo)(OrtTensorTypeAndShapeInfo *info);  // 99
    void (*_Nonnull ReleaseSessionOptions)(OrtSessionOptions *options);  // 100
} EdgeNASOrtApi;

#define EDGENAS_ORT_SLOT_OFFSET(index) ((index) * sizeof(void *))
_Static_assert(offsetof(EdgeNASOrtApi, GetErrorCode) == EDGENAS_ORT_SLOT_OFFSET(1), "GetErrorCode is slot 1");
_Static_assert(offsetof(EdgeNASOrtApi, GetErrorMessage) == EDGENAS_ORT_SLOT_OFFSET(2), "GetErrorMessage is slot 2");
_Static_assert(offsetof(EdgeNASOrtApi, CreateEnv) == EDGENAS_ORT_SLOT_OFFSET(3), "CreateEnv is slot 3");
_Static_assert(offsetof(EdgeNASOrtApi, CreateSession) == EDGENAS_ORT_SLOT_OFFSET(7), "CreateSession is slot 7");
_Static_assert(offsetof(EdgeNASOrtApi, CreateSessionFromArray) == EDGENAS_ORT_SLOT_OFFSET(8),
               "CreateSessionFromArray is slot 8");
_Static_assert(offsetof(EdgeNASOrtApi, Run) == EDGENAS_ORT_SLOT_OFFSET(9), "Run is slot 9");
_Static_assert(offsetof(EdgeNASOrtApi, CreateSessionOptions) == EDGENAS_ORT_SLOT_OFFSET(10),
               "CreateSessionOptions is slot 10");
_Static_assert(offsetof(EdgeNASOrtApi, SetSessionGraphOptimizationLevel) == EDGENAS_ORT_SLOT_OFFSET(23),
               "SetSessionGraphOptimizationLevel is slot 23");
_Static_assert(offsetof(EdgeNASOrtApi, SetIntraOpNumThreads) == EDGENAS_ORT_SLOT_OFFSET(24),
               "SetIntraOpNumThreads is slot 24");
_Static_assert(offsetof(EdgeNASOrtApi, SetInterOpNumThreads) == EDGENAS_ORT_SLOT_OFFSET(25),
               "SetInterOpNumThreads is slot 25");
_Static_assert(offsetof(EdgeNASOrtApi, SessionGetInputCount) == EDGENAS_ORT_SLOT_OFFSET(30),
               "SessionGetInputCount is slot 30");
_Static_assert(offsetof(EdgeNASOrtApi, SessionGetOutputCount) == EDGENAS_ORT_SLOT_OFFSET(31),
               "SessionGetOutputCount is slot 31");
_Static_assert(offsetof(EdgeNASOrtApi, SessionGetInputTypeInfo) == EDGENAS_ORT_SLOT_OFFSET(33),
               "SessionGetInputTypeInfo is slot 33");
_Static_assert(offsetof(EdgeNASOrtApi, SessionGetInputName) == EDGENAS_ORT_SLOT_OFFSET(36),
               "SessionGetInputName is slot 36");
_Static_assert(offsetof(EdgeNASOrtApi, SessionGetOutputName) == EDGENAS_ORT_SLOT_OFFSET(37),
               "SessionGetOutputName is slot 37");
_Static_assert(offsetof(EdgeNASOrtApi, CreateTensorWithDataAsOrtValue) == EDGENAS_ORT_SLOT_OFFSET(49),
               "CreateTensorWithDataAsOrtValue is slot 49");
_Static_assert(offsetof(EdgeNASOrtApi, GetTensorMutableData) == EDGENAS_ORT_SLOT_OFFSET(51),
               "GetTensorMutableData is slot 51");
_Static_assert(offsetof(EdgeNASOrtApi, CastTypeInfoToTensorInfo) == EDGENAS_ORT_SLOT_OFFSET(55),
               "CastTypeInfoToTensorInfo is slot 55");
_Static_assert(offsetof(EdgeNASOrtApi, GetTensorElementType) == EDGENAS_ORT_SLOT_OFFSET(60),
               "GetTensorElementType is slot 60");
_Static_assert(offsetof(EdgeNASOrtApi, GetDimensionsCount) == EDGENAS_ORT_SLOT_OFFSET(61),
               "GetDimensionsCount is slot 61");
_Static_assert(offsetof(EdgeNASOrtApi, GetDimensions) == EDGENAS_ORT_SLOT_OFFSET(62), "GetDimensions is slot 62");
_Static_assert(offsetof(EdgeNASOrtApi, GetTensorTypeAndShape) == EDGENAS_ORT_SLOT_OFFSET(65),
               "GetTensorTypeAndShape is slot 65");
_Static_assert(offsetof(EdgeNASOrtApi, CreateCpuMemoryInfo) == EDGENAS_ORT_SLOT_OFFSET(69),
               "CreateCpuMemoryInfo is slot 69");
_Static_assert(offsetof(EdgeNASOrtApi, AllocatorFree) == EDGENAS_ORT_SLOT_OFFSET(76), "AllocatorFree is slot 76");
_Static_assert(offsetof(EdgeNASOrtApi, GetAllocatorWithDefaultOptions) == EDGENAS_ORT_SLOT_OFFSET(78),
               "GetAllocatorWithDefaultOptions is slot 78");
_Static_assert(offsetof(EdgeNASOrtApi, ReleaseEnv) == EDGENAS_ORT_SLOT_OFFSET(92), "ReleaseEnv is slot 92");
_Static_assert(offsetof(EdgeNASOrtApi, ReleaseStatus) == EDGENAS_ORT_SLOT_OFFSET(93), "ReleaseStatus is slot 93");
_Static_assert(offsetof(EdgeNASOrtApi, ReleaseMemoryInfo) == EDGENAS_ORT_SLOT_OFFSET(94),
               "ReleaseMemoryInfo is slot 94");
_Static_assert(offsetof(EdgeNASOrtApi, ReleaseSession) == EDGENAS_ORT_SLOT_OFFSET(95), "ReleaseSession is slot 95");
_Static_assert(offsetof(EdgeNASOrtApi, ReleaseValue) == EDGENAS_ORT_SLOT_OFFSET(96), "ReleaseValue is slot 96");
_Static_assert(offsetof(EdgeNASOrtApi, ReleaseTypeInfo) == EDGENAS_ORT_SLOT_OFFSET(98),
               "ReleaseTypeInfo is slot 98");
_Static_assert(offsetof(EdgeNASOrtApi, ReleaseTensorTypeAndShapeInfo) == EDGENAS_ORT_SLOT_OFFSET(99),
               "ReleaseTensorTypeAndShapeInfo is slot 99");
_Static_assert(offsetof(EdgeNASOrtApi, ReleaseSessionOptions) == EDGENAS_ORT_SLOT_OFFSET(100),
               "ReleaseSessionOptions is slot 100");
_Static_assert(sizeof(EdgeNASOrtApi) == EDGENAS_ORT_SLOT_OFFSET(101), "the declared prefix ends after slot 100");

/// The API version EdgeNAS requests from `OrtGetApiBase()->GetApi`. Every slot above
/// exists since API version 1 and the table only grows, so asking for 1 also accepts
/// older ONNX Runtime releases on a board; ONNX Runtime 1.32 accepts 1 to 32.
#define EDGENAS_ORT_API_VERSION 1u

/// A loaded ONNX Runtime library.
typedef struct EdgeNASOrtLibrary {
    /// The function table, or NULL when loading failed.
    const EdgeNASOrtApi *api;
    /// ONNX Runtime's version string (e.g. "1.32.0"), or NULL when loading failed.
    const char *version;
} EdgeNASOrtLibrary;

/// dlopens `path`, looks up `OrtGetApiBase` and asks it for `apiVersion`.
///
/// On failure `api` is NULL and `error` (capacity `errorCapacity`, always
/// NUL-terminated) says which step failed and why. The library is never closed:
/// ONNX Runtime keeps process-wide state that must outlive every session.
EdgeNASOrtLibrary edgenas_ort_load(const char *path, uint32_t apiVersion, char *error, size_t errorCapacity);

#pragma clang diagnostic pop

#ifdef __cplusplus
}
#endif

#endif
