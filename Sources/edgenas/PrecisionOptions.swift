import ArgumentParser
import EdgeNASTensor

extension MatrixPrecision: ExpressibleByArgument {}

/// `--matmul-precision`, for the commands that train or score without a stored run to keep
/// consistent (a search's resumed scores must all share one precision, so `search` has no
/// such option yet).
struct PrecisionOptions: ParsableArguments {
    @Option(name: .customLong("matmul-precision"),
            help: ArgumentHelp("Inputs of the large matrix products: fp32, or bf16 (rounded to bfloat16, summed in float32; about 2.3× faster GEMMs on processors with AVX512_BF16, with oneDNN installed).",
                               valueName: "fp32|bf16"))
    var matmulPrecision: MatrixPrecision = .float32

    /// Runs `body` at the chosen precision; a bf16 request this machine cannot run is bad input.
    func scoped<Result>(_ body: () throws -> Result) throws -> Result {
        do {
            return try Compute.withMatrixPrecision(matmulPrecision, body)
        } catch let error as MatrixPrecisionError {
            throw CommandFailure.badInput(error.description)
        }
    }
}
