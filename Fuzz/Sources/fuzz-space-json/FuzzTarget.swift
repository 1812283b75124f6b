import CFuzzerDriver
import EdgeNASDecoderChecks
import Foundation

/// libFuzzer's callback: one input through the space-json decoder; a broken invariant or an
/// undocumented error traps, so libFuzzer keeps the input as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    do { _ = try DecoderCheck.spaceJSON.run(data) } catch { fatalError("\(error)") }
    return 0
}

/// The entry point SwiftPM links every executable with (named after the module): libFuzzer's
/// driver, as libFuzzer's own `main` would run it.
@_cdecl("fuzz_space_json_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzOneInput($0, $1) }
}
