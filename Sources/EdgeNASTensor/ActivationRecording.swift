/// Opt-in capture of activation outputs, for scores that look inside a network at
/// initialisation (NASWOT's binary activation codes) without hooks in every model.
public final class ActivationRecorder: @unchecked Sendable {
    /// Outputs of sign-preserving activations (relu, relu6, hswish, silu, gelu: positive
    /// exactly where their input is), in the order they ran.
    public private(set) var outputs: [Tensor] = []

    @TaskLocal static var current: ActivationRecorder?

    public init() {}

    /// Runs `body`, recording every sign-preserving activation it applies.
    public func recording<Result>(_ body: () throws -> Result) rethrows -> Result {
        try Self.$current.withValue(self) { try body() }
    }

    func append(_ output: Tensor) { outputs.append(output) }
}
