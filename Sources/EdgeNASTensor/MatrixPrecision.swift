import CEdgeKernels
import COpenBLAS

/// The precision of the inputs of the engine's large matrix products.
///
/// - `float32`: OpenBLAS's sgemm, the default; results are reproducible bit for bit at one
///   thread count.
/// - `bfloat16`: both operands rounded to bfloat16 (8 bits of mantissa, nearest even) and
///   the products summed in float32, through oneDNN, as mixed-precision training does.
///   Weights, activations, gradients and everything outside the products stay float32.
///   About 2.3× sgemm's speed on a processor with AVX512_BF16 at the sizes of a ViT's
///   layers (benchmarks/engine-speed.md); probe scores and trained weights change by the
///   rounding.
public enum MatrixPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = "fp32"
    case bfloat16 = "bf16"

    public var description: String { rawValue }

    /// Why bfloat16 products cannot run here, or nil when they can.
    public static var bfloat16Unavailability: MatrixPrecisionError? {
        switch edgenas_bf16_support() {
        case Int32(EDGENAS_BF16_AVAILABLE): return nil
        case Int32(EDGENAS_BF16_NO_PROCESSOR_SUPPORT): return .processorLacksBFloat16
        default: return .oneDNNMissing
        }
    }
}

public enum MatrixPrecisionError: Error, Equatable, CustomStringConvertible {
    case processorLacksBFloat16
    case oneDNNMissing

    /// What is missing, without advice.
    public var reason: String {
        switch self {
        case .processorLacksBFloat16:
            return "bf16 matrix products need a processor with AVX512_BF16 (this one lacks it, or its hypervisor hides it)"
        case .oneDNNMissing:
            return "bf16 matrix products need oneDNN (libdnnl.so.2, Debian's libdnnl2, or the library "
                + "EDGENAS_ONEDNN_LIB names), which did not load"
        }
    }

    public var description: String {
        switch self {
        case .processorLacksBFloat16: return reason + "; use --matmul-precision fp32"
        case .oneDNNMissing: return reason + ": run scripts/setup.sh, or use --matmul-precision fp32"
        }
    }
}

/// Floating-point operations below which a bfloat16 product stays float32: rounding both
/// operands costs a pass over each, more than it saves on small products (attention's
/// per-head 49×49×64 products ran at half sgemm's speed in bfloat16).
let bfloat16ProductThreshold = 8_000_000

/// One worker's row-major C = alpha·op(A)·op(B) + beta·C, at the run's matrix precision.
func singleThreadedProduct(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if Compute.matrixPrecision == .bfloat16, 2 * m * n * k >= bfloat16ProductThreshold,
       edgenas_gemm_bf16(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) != 0 {
        return
    }
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
