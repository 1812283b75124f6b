// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for every decoder of user files. A package of its own so that the root
// package's `swift build` and `swift test` never build them; scripts/fuzz.sh builds them with
// -sanitize=fuzzer,address and runs one.
let decoders = ["architecture-json", "space-json", "space-yaml", "device-yaml", "idx", "rank-jsonl", "image", "cifar"]

let package = Package(
    name: "EdgeNASFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "EdgeNAS", path: "..")],
    targets: [
        // libFuzzer's driver entry point, declared for Swift.
        .target(name: "CFuzzerDriver"),
        // The fuzz callback and the driver; an executable fuzz-NAME fuzzes the decoder NAME.
        .target(name: "FuzzDriver",
                dependencies: ["CFuzzerDriver", .product(name: "EdgeNASDecoderChecks", package: "EdgeNAS")]),
    ] + decoders.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzDriver"], path: "Sources/fuzz-\(name)")
    }
)
