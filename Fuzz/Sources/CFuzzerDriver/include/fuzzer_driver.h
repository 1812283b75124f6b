#ifndef EDGENAS_FUZZER_DRIVER_H
#define EDGENAS_FUZZER_DRIVER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer): runs the fuzzing loop with
// `callback` as the target. SwiftPM gives every executable its own entry point, so the fuzz
// targets call this from it instead of using libFuzzer's main.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
