// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "EdgeNAS",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "edgenas", targets: ["edgenas"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // System libraries: the only places that name a C library.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        // The vocabulary: architectures, spaces, sampling, Params/FLOPs. Foundation (+ Yams for YAML spaces).
        .target(
            name: "EdgeNASCore",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // Hot vector kernels in C: built with an AVX2+FMA clone on x86-64 (Swift code is
        // compiled for baseline x86-64), always optimised so that debug test runs stay fast.
        .target(name: "CEdgeKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // Tensors with reverse-mode autodiff on OpenBLAS; the only importer of COpenBLAS.
        .target(name: "EdgeNASTensor", dependencies: ["EdgeNASCore", "COpenBLAS", "CEdgeKernels"]),
        // Image datasets on disk (IDX / MNIST format, gzip or raw) as plain bytes; the only importer of CZlib.
        .target(name: "EdgeNASData", dependencies: ["CZlib"]),
        // ONNX Runtime's C API, loaded at run time with dlopen: a project-written header of
        // the OrtApi slots EdgeNAS uses.
        .target(name: "CONNXRuntime", linkerSettings: [.linkedLibrary("dl")]),
        // Runs exported ONNX models in ONNX Runtime (profiler backend, tests); the only importer of CONNXRuntime.
        .target(name: "EdgeNASRuntime", dependencies: ["CONNXRuntime"]),
        // Architecture -> trainable network, trainer.
        .target(name: "EdgeNASModels", dependencies: ["EdgeNASCore", "EdgeNASTensor", "EdgeNASData"]),
        // The command-line tool; the only importer of ArgumentParser.
        .executableTarget(
            name: "edgenas",
            dependencies: [
                "EdgeNASCore", "EdgeNASTensor", "EdgeNASData", "EdgeNASModels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .target(name: "TestSupport", dependencies: ["EdgeNASCore", "EdgeNASTensor"], path: "Tests/TestSupport"),
        .testTarget(name: "EdgeNASTensorTests", dependencies: ["EdgeNASTensor", "TestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "EdgeNASCoreTests", dependencies: ["EdgeNASCore"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "EdgeNASDataTests", dependencies: ["EdgeNASData", "EdgeNASCore"]),
        .testTarget(name: "EdgeNASModelsTests", dependencies: ["EdgeNASModels", "TestSupport"]),
        .testTarget(name: "EdgeNASRuntimeTests", dependencies: ["EdgeNASRuntime"]),
        // Runs the built CLI as a process, as users and scripts do.
        .testTarget(name: "edgenasTests", dependencies: ["edgenas", "TestSupport"]),
    ]
)
