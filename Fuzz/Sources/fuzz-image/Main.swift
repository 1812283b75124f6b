import FuzzDriver

/// The entry point SwiftPM links this executable with; the target's name picks the decoder.
@_cdecl("fuzz_image_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runFuzzer(argc, argv) }
