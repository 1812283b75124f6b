@testable import EdgeNASTensor
import Testing

extension TensorEngineTests {
    /// Which OpenBLAS kernel family to force: only a known family weaker than the processor.
    @Suite struct BLASKernelChoiceTests {
        @Test func aFallbackBelowTheProcessorIsReplacedByTheFamilyOfItsLevel() {
            // Debian 12's OpenBLAS on an Emerald Rapids Xeon (AVX-512) loads Prescott's kernels.
            #expect(BLASKernelChoice.betterCore(than: "Prescott", processorLevel: 4) == "SkylakeX")
            #expect(BLASKernelChoice.betterCore(than: "Nehalem", processorLevel: 3) == "Haswell")
            #expect(BLASKernelChoice.betterCore(than: "Core2", processorLevel: 2) == "Sandybridge")
            #expect(BLASKernelChoice.betterCore(than: "Haswell", processorLevel: 4) == "SkylakeX")
        }

        @Test func aFamilyThatUsesWhatTheProcessorHasIsKept() {
            #expect(BLASKernelChoice.betterCore(than: "SkylakeX", processorLevel: 4) == nil)
            #expect(BLASKernelChoice.betterCore(than: "SapphireRapids", processorLevel: 4) == nil)
            #expect(BLASKernelChoice.betterCore(than: "Prescott", processorLevel: 1) == nil)
            // A family above what the features say (a user's OPENBLAS_CORETYPE) is not lowered.
            #expect(BLASKernelChoice.betterCore(than: "SkylakeX", processorLevel: 3) == nil)
        }

        @Test func familiesItDoesNotKnowAndOtherProcessorsAreLeftAlone() {
            #expect(BLASKernelChoice.betterCore(than: "ARMV8", processorLevel: 0) == nil)
            #expect(BLASKernelChoice.betterCore(than: "NEOVERSEN1", processorLevel: 0) == nil)
            #expect(BLASKernelChoice.betterCore(than: "Excavator", processorLevel: 3) == nil)
            // AMD's tuned family stays, even on an AVX-512 Zen 4.
            #expect(BLASKernelChoice.betterCore(than: "Zen", processorLevel: 4) == nil)
            #expect(BLASKernelChoice.betterCore(than: "unknown", processorLevel: 4) == nil)
        }
    }
}
