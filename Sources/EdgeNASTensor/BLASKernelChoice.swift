import CEdgeKernels
import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Which OpenBLAS kernels the engine's matrix products run on.
///
/// OpenBLAS picks its kernels from the processor's model number when the library loads.
/// A processor newer than the library falls back to the oldest family: Debian 12's
/// OpenBLAS 0.3.21 runs Emerald Rapids Xeons on Prescott's SSE3 kernels, at 57 GFLOP/s
/// for two cores where the AVX-512 kernels reach 200–280 (`edgenas bench ops`). The
/// environment variable `OPENBLAS_CORETYPE` overrides the choice, but OpenBLAS reads it
/// only as it loads, before any of our code runs, so the program has to start again with
/// it set.
public enum BLASKernelChoice {
    /// The vector instruction level of OpenBLAS's Intel x86-64 kernel families (what each
    /// needs of the processor, as `edgenas_cpu_vector_level` counts it). Families missing
    /// here are never overridden: AMD's (OpenBLAS's Zen family is tuned for those
    /// processors, and this was not measured against SkylakeX's on an AVX-512 Zen) and other
    /// architectures'.
    static let levelOfCore: [String: Int] = [
        "Prescott": 1, "Core2": 1, "Penryn": 1, "Dunnington": 1, "Nehalem": 1, "Atom": 1,
        "Sandybridge": 2,
        "Haswell": 3,
        "SkylakeX": 4, "Cooperlake": 4, "SapphireRapids": 4,
    ]

    /// The family to force for each processor level: the one OpenBLAS itself picks for
    /// the Intel processors of that level it recognises.
    static let coreForLevel: [Int: String] = [2: "Sandybridge", 3: "Haswell", 4: "SkylakeX"]

    /// The kernel family to run instead of `loadedCore` on a processor of vector level
    /// `processorLevel`, or nil when `loadedCore` already uses what the processor has
    /// (or is a family this table does not know).
    public static func betterCore(than loadedCore: String, processorLevel: Int) -> String? {
        guard let loadedLevel = levelOfCore[loadedCore], processorLevel > loadedLevel else { return nil }
        return coreForLevel[processorLevel]
    }

    /// This processor's vector instruction level (see `edgenas_cpu_vector_level`).
    public static var processorLevel: Int { Int(edgenas_cpu_vector_level()) }

    /// The better kernel family for this process, if OpenBLAS chose a weaker one.
    public static var betterCoreForThisProcess: String? {
        betterCore(than: Compute.blasCoreName, processorLevel: processorLevel)
    }

    /// Starts this program again, same arguments and open files, with `OPENBLAS_CORETYPE`
    /// set to the better kernel family when OpenBLAS chose a weaker one for this processor.
    /// Does nothing when the variable is already set (the user's choice, or the second
    /// start), and returns if the program cannot be started again.
    public static func restartWithBetterKernelsIfNeeded() {
        #if os(Linux)
        guard getenv("OPENBLAS_CORETYPE") == nil, let core = betterCoreForThisProcess else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Still here: run on the kernels already loaded.
        unsetenv("OPENBLAS_CORETYPE")
        #endif
    }
}
