import CFuzzerDriver
import EdgeNASDecoderChecks
import Foundation

/// The decoder this fuzz target runs: the executable `fuzz-NAME` runs the decoder `NAME`.
private let decoder: DecoderCheck = {
    let name = URL(fileURLWithPath: CommandLine.arguments[0]).lastPathComponent
    guard name.hasPrefix("fuzz-"), let decoder = DecoderCheck(rawValue: String(name.dropFirst("fuzz-".count))) else {
        fatalError("\(name): a fuzz target is named fuzz-DECODER, DECODER one of "
            + DecoderCheck.allCases.map(\.rawValue).joined(separator: ", "))
    }
    return decoder
}()

/// libFuzzer's callback: one input through the decoder; a broken invariant or an
/// undocumented error traps, so libFuzzer keeps the input as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    do { _ = try decoder.run(data) } catch { fatalError("\(error)") }
    return 0
}

/// libFuzzer's driver, as its own `main` would run it; each target's entry point calls this.
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzOneInput($0, $1) }
}
