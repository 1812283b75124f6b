import ArgumentParser
import EdgeNASTensor

extension MatrixPrecision: ExpressibleByArgument {}

/// `--matmul-precision`, shared by the commands that train or score.
struct PrecisionOptions: ParsableArguments {
    @Option(name: .customLong("matmul-precision"),
            help: ArgumentHelp("Inputs of the large matrix products: fp32 (the default), or bf16 (rounded to bfloat16, summed in float32; about 2.3× faster GEMMs on processors with AVX512_BF16, with oneDNN installed).",
                               valueName: "fp32|bf16"))
    var matmulPrecision: MatrixPrecision?

    /// Runs `body` at `precision` (default: the option's); a bf16 request this machine cannot
    /// run is bad input, refused before `body` starts.
    func scoped<Result>(_ precision: MatrixPrecision? = nil, _ body: () throws -> Result) throws -> Result {
        do {
            return try Compute.withMatrixPrecision(precision ?? matmulPrecision ?? .float32, body)
        } catch let error as MatrixPrecisionError {
            throw CommandFailure.badInput(error.description)
        }
    }
}
