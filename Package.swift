// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "EdgeNAS",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "edgenas", targets: ["edgenas"]),
        // Every decoder with its invariants, for the fuzz targets in Fuzz/ (a separate package
        // that CI never builds) and the corpus replay test.
        .library(name: "EdgeNASDecoderChecks", targets: ["EdgeNASDecoderChecks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // System libraries: the only places that name a C library.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // PostgreSQL's C client (Debian libpq-dev): a C library builds in seconds, where
        // PostgresNIO and SwiftNIO add minutes to every CI build.
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ"),

        // The vocabulary: architectures, spaces, sampling, Params/FLOPs. Foundation (+ Yams for YAML spaces).
        .target(
            name: "EdgeNASCore",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // Hot vector kernels in C: built with an AVX2+FMA clone on x86-64 (Swift code is
        // compiled for baseline x86-64), always optimised so that debug test runs stay fast;
        // no errno from libm, which no kernel reads and which keeps sqrtf out of vector loops.
        .target(name: "CEdgeKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])],
                linkerSettings: [.linkedLibrary("dl")]),
        // Tensors with reverse-mode autodiff on OpenBLAS; the only importer of COpenBLAS.
        .target(name: "EdgeNASTensor", dependencies: ["EdgeNASCore", "COpenBLAS", "CEdgeKernels"]),
        // PNG and JPEG through libpng and libjpeg-turbo, behind C functions (libjpeg reports
        // errors by longjmp); the only place that names either library.
        .target(name: "CImageCodecs", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        // Image datasets on disk as plain bytes: IDX / MNIST format (gzip or raw; the only
        // importer of CZlib), CIFAR binary, and image folders (through CImageCodecs).
        .target(name: "EdgeNASData", dependencies: ["EdgeNASCore", "CZlib", "CImageCodecs"]),
        // ONNX Runtime's C API, loaded at run time with dlopen: a project-written header of
        // the OrtApi slots EdgeNAS uses.
        .target(name: "CONNXRuntime", linkerSettings: [.linkedLibrary("dl")]),
        // Runs exported ONNX models in ONNX Runtime (profiler backend, tests); the only importer of CONNXRuntime.
        .target(name: "EdgeNASRuntime", dependencies: ["CONNXRuntime"]),
        // Architecture -> trainable network, trainer.
        .target(name: "EdgeNASModels", dependencies: ["EdgeNASCore", "EdgeNASTensor", "EdgeNASData"]),
        // libonnx's checker (check_model + strict shape inference) behind one C function; the
        // only place that names libonnx.
        .target(
            name: "CONNXChecker",
            cxxSettings: [.define("ONNX_NAMESPACE", to: "onnx"), .define("ONNX_ML", to: "1")],
            linkerSettings: [.linkedLibrary("onnx"), .linkedLibrary("onnx_proto"), .linkedLibrary("protobuf")]
        ),
        // Architecture + engine weights -> ONNX (IR 8, opset 17); the only importer of SwiftProtobuf.
        .target(
            name: "EdgeNASONNX",
            dependencies: [
                "EdgeNASCore", "EdgeNASTensor", "EdgeNASModels", "CONNXChecker",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // Runs an exported model on image files with the preprocessing its metadata records (`predict`).
        .target(name: "EdgeNASDeploy", dependencies: ["EdgeNASData", "EdgeNASONNX", "EdgeNASRuntime"]),
        // Device descriptions, block signatures, latency tables in SQLite, the profiler and the
        // latency predictor.
        .target(
            name: "EdgeNASLatency",
            dependencies: [
                "EdgeNASCore", "EdgeNASTensor", "EdgeNASModels", "EdgeNASONNX", "EdgeNASRuntime",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The six vision probes, budget-adaptive evaluation and zero-cost proxies: how candidates are scored.
        .target(name: "EdgeNASProbes", dependencies: ["EdgeNASCore", "EdgeNASTensor", "EdgeNASModels", "EdgeNASData"]),
        // The selection pipeline: capacity prior, probes within a budget, successive halving on
        // the user's task, the final order, and selection quality (tau, regret).
        .target(name: "EdgeNASSelection", dependencies: ["EdgeNASCore", "EdgeNASTensor", "EdgeNASData", "EdgeNASModels", "EdgeNASProbes"]),
        // One PostgreSQL connection through libpq: parameters as text, reconnection; the only importer of CLibPQ.
        .target(name: "EdgeNASPostgres", dependencies: ["CLibPQ"]),
        // Constrained search: sampling under limits, strategies, run stores (SQLite, PostgreSQL)
        // shared by workers through claims, reports.
        .target(
            name: "EdgeNASSearch",
            dependencies: [
                "EdgeNASCore", "EdgeNASTensor", "EdgeNASData", "EdgeNASLatency", "EdgeNASProbes", "EdgeNASSelection", "EdgeNASPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Each decoder of user files run on arbitrary bytes with its invariants checked: what
        // the fuzz targets (Fuzz/) and the corpus replay test call.
        .target(name: "EdgeNASDecoderChecks", dependencies: ["EdgeNASCore", "EdgeNASData"]),
        // The command-line tool; the only importer of ArgumentParser.
        .executableTarget(
            name: "edgenas",
            dependencies: [
                "EdgeNASCore", "EdgeNASTensor", "EdgeNASData", "EdgeNASModels", "EdgeNASONNX",
                "EdgeNASRuntime", "EdgeNASLatency", "EdgeNASProbes", "EdgeNASSelection", "EdgeNASSearch", "EdgeNASDeploy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .target(name: "TestSupport", dependencies: ["EdgeNASCore", "EdgeNASTensor"], path: "Tests/TestSupport"),
        .testTarget(name: "EdgeNASTensorTests", dependencies: ["EdgeNASTensor", "TestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "EdgeNASCoreTests", dependencies: ["EdgeNASCore"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "EdgeNASDataTests", dependencies: ["EdgeNASData", "EdgeNASCore"]),
        // Replays the fuzz corpus (Tests/FuzzCorpusTests/Corpus/<decoder>/) through every decoder.
        .testTarget(name: "FuzzCorpusTests", dependencies: ["EdgeNASDecoderChecks"], resources: [.copy("Corpus")]),
        .testTarget(name: "EdgeNASModelsTests", dependencies: ["EdgeNASModels", "TestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "EdgeNASRuntimeTests", dependencies: ["EdgeNASRuntime"]),
        .testTarget(name: "EdgeNASONNXTests",
                    dependencies: ["EdgeNASONNX", "EdgeNASModels", "EdgeNASData", "TestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "EdgeNASLatencyTests",
                    dependencies: ["EdgeNASLatency", "EdgeNASCore", "EdgeNASModels", "EdgeNASONNX", "EdgeNASRuntime",
                                   "EdgeNASTensor", "TestSupport"]),
        .testTarget(name: "EdgeNASSearchTests", dependencies: ["EdgeNASSearch", "EdgeNASCore", "EdgeNASProbes", "EdgeNASTensor", "TestSupport"]),
        .testTarget(name: "EdgeNASSelectionTests", dependencies: ["EdgeNASSelection", "EdgeNASCore", "EdgeNASData", "EdgeNASProbes"], exclude: ["Fixtures"]),
        .testTarget(name: "EdgeNASProbesTests", dependencies: ["EdgeNASProbes", "EdgeNASData", "TestSupport"]),
        // Runs the built CLI as a process, as users and scripts do.
        .testTarget(name: "edgenasTests", dependencies: ["edgenas", "TestSupport", "EdgeNASData", "EdgeNASTensor"]),
    ],
    cxxLanguageStandard: .cxx17
)
