import EdgeNASCore
import EdgeNASModels
import EdgeNASONNX
import EdgeNASTensor
import Foundation
import Testing
import TestSupport

/// Every architecture of the reference cost file, plus a few small ones that cover what the
/// reference file does not (kernel 1, every activation, stem stride 2, RGB and non-square
/// inputs, Mamba convolutions longer than the sequence).
private func exportedArchitectures() throws -> [(id: String, architecture: Architecture)] {
    var result: [(id: String, architecture: Architecture)] = []
    for record in try ReferenceData.jsonLines("cost-golden.jsonl") {
        let architecture = try Architecture(jsonData: ReferenceData.architectureData(of: record))
        result.append((record["id"] as! String, architecture))
    }
    let extras: [(String, String)] = [
        ("extra-hswish-kernel1", """
        {"format": "edgenas.architecture/1", "family": "mbconv", "input": {"channels": 1, "height": 28, "width": 28},
         "classes": 10, "activation": "hswish", "stem": {"channels": 8, "kernel": 5, "stride": 2},
         "stages": [{"channels": 8, "stride": 1, "blocks": [{"kernel": 1, "expand": 1, "se": true},
                                                           {"kernel": 1, "expand": 3, "se": false}]},
                    {"channels": 16, "stride": 2, "blocks": [{"kernel": 7, "expand": 2, "se": true}]}],
         "head": {"channels": 32}}
        """),
        ("extra-silu-rgb", """
        {"format": "edgenas.architecture/1", "family": "mbconv", "input": {"channels": 3, "height": 20, "width": 24},
         "classes": 7, "activation": "silu", "stem": {"channels": 8, "kernel": 3, "stride": 1},
         "stages": [{"channels": 12, "stride": 2, "blocks": [{"kernel": 5, "expand": 4, "se": true},
                                                            {"kernel": 3, "expand": 2, "se": false}]}],
         "head": {"channels": 0}}
        """),
        ("extra-gelu", """
        {"format": "edgenas.architecture/1", "family": "mbconv", "input": {"channels": 1, "height": 16, "width": 16},
         "classes": 4, "activation": "gelu", "stem": {"channels": 8, "kernel": 7, "stride": 1},
         "stages": [{"channels": 8, "stride": 1, "blocks": [{"kernel": 3, "expand": 1, "se": false}]},
                    {"channels": 16, "stride": 2, "blocks": [{"kernel": 1, "expand": 5, "se": true}]}],
         "head": {"channels": 24}}
        """),
        ("extra-relu-stem1x1", """
        {"format": "edgenas.architecture/1", "family": "mbconv", "input": {"channels": 2, "height": 15, "width": 13},
         "classes": 3, "activation": "relu", "stem": {"channels": 8, "kernel": 1, "stride": 1},
         "stages": [{"channels": 8, "stride": 2, "blocks": [{"kernel": 5, "expand": 8, "se": true},
                                                           {"kernel": 7, "expand": 1, "se": true}]}],
         "head": {"channels": 16}}
        """),
        ("extra-vit-rgb", """
        {"format": "edgenas.architecture/1", "family": "vit", "input": {"channels": 3, "height": 16, "width": 24},
         "classes": 5, "patch": 8, "embed": 24, "layers": [{"heads": 3, "mlp_ratio": 1.5}, {"heads": 1, "mlp_ratio": 2.0}]}
        """),
        ("extra-mamba-rgb", """
        {"format": "edgenas.architecture/1", "family": "mamba", "input": {"channels": 3, "height": 16, "width": 24},
         "classes": 5, "patch": 8, "embed": 24, "layers": [{"state": 4, "expand": 2, "conv": 4}, {"state": 3, "expand": 1, "conv": 8}]}
        """),
        ("extra-mamba-non-square", """
        {"format": "edgenas.architecture/1", "family": "mamba", "input": {"channels": 1, "height": 28, "width": 14},
         "classes": 10, "patch": 7, "embed": 20, "layers": [{"state": 16, "expand": 3, "conv": 3}]}
        """),
    ]
    for (id, json) in extras {
        result.append((id, try Architecture(jsonData: Data(json.utf8), file: id)))
    }
    return result
}

@Suite(.serialized) struct ExportMatchesEngineTests {
    /// The acceptance test: for every architecture, Python's full checker passes and ONNX
    /// Runtime gives the engine's inference-mode logits at batch 1 and 3.
    @Test func everyArchitectureRunsInONNXRuntimeAndMatchesTheEngine() throws {
        let architectures = try exportedArchitectures()
        try assertCoverage(architectures.map(\.architecture))
        let directory = try makeTemporaryDirectory("golden")
        defer { try? FileManager.default.removeItem(at: directory) }

        var jobs: [RuntimeJob] = []
        var expected: [String: [Float]] = [:]
        for (index, (id, architecture)) in architectures.enumerated() {
            let network = NetworkBuilder.network(for: architecture, seed: UInt64(index))
            perturbNormalization(of: network, seed: UInt64(1000 + index))
            let shape = [3, architecture.input.channels, architecture.input.height, architecture.input.width]
            let images = randomTensor(shape, seed: UInt64(2000 + index), low: -2, high: 2, requiresGradient: false)
            expected[id] = inferenceOutput(of: network) { network(images) }

            let url = directory.appendingPathComponent("\(id).onnx")
            try ONNXExporter.model(for: architecture, network: network).write(to: url)
            jobs.append(RuntimeJob(id: id, model: url, input: images.storage, inputShape: shape,
                                   runs: [.init(batch: 1, chunk: 1), .init(batch: 3, chunk: 3)]))
            // The cumulative-sum scan holds only while exp(−Σ Δ·A) fits float32: 6 tokens of at most
            // 4 states do; extra-mamba-non-square (8 tokens, 16 states) already gives NaN.
            // The unrolled form (for runtimes without Scan) gives the same logits as the default Scan form.
            var otherForms: [MambaScanForm] = architecture.family == .mamba && index % 5 == 0 ? [.unrolled] : []
            if id == "extra-mamba-rgb" { otherForms = [.unrolled, .cumulativeSum] }
            for form in otherForms {
                let formID = "\(id)-\(form.rawValue)"
                let formURL = directory.appendingPathComponent("\(formID).onnx")
                try ONNXExporter.model(for: architecture, network: network, mambaScanForm: form).write(to: formURL)
                expected[formID] = expected[id]
                jobs.append(RuntimeJob(id: formID, model: formURL, input: images.storage, inputShape: shape,
                                       runs: [.init(batch: 1, chunk: 1), .init(batch: 3, chunk: 3)]))
            }
        }

        let results = try PythonONNXRuntime.run(jobs, workingDirectory: directory)
        for result in results {
            #expect(result.checkerError == nil, "\(result.id): onnx.checker full check: \(result.checkerError ?? "")")
            #expect(result.runError == nil, "\(result.id): ONNX Runtime: \(result.runError ?? "")")
            guard result.outputs.count == 2, let engine = expected[result.id] else { continue }
            let classes = engine.count / 3
            #expect(result.outputShapes == [[1, classes], [3, classes]], "\(result.id)")
            #expect(firstDisagreement(result.outputs[0], Array(engine.prefix(classes)), label: "\(result.id) batch 1") == nil,
                    "\(firstDisagreement(result.outputs[0], Array(engine.prefix(classes)), label: "\(result.id) batch 1") ?? "")")
            #expect(firstDisagreement(result.outputs[1], engine, label: "\(result.id) batch 3") == nil,
                    "\(firstDisagreement(result.outputs[1], engine, label: "\(result.id) batch 3") ?? "")")
        }
    }

    /// The set above must exercise every construct the exporter emits.
    private func assertCoverage(_ architectures: [Architecture]) throws {
        var kernels = Set<Int>(), activations = Set<Activation>(), patches = Set<Int>()
        var hasSE = false, hasExpandOne = false, hasNoHead = false, hasHead = false, hasStrideTwo = false
        var hasResidual = false, hasStemStrideTwo = false, hasViT = false, hasLongMambaConvolution = false
        for architecture in architectures {
            switch architecture.body {
            case let .mbconv(body):
                activations.insert(body.activation)
                hasNoHead = hasNoHead || body.headChannels == 0
                hasHead = hasHead || body.headChannels > 0
                hasStemStrideTwo = hasStemStrideTwo || body.stem.stride == 2
                for layout in body.blockLayouts(input: architecture.input) {
                    kernels.insert(layout.kernel)
                    hasSE = hasSE || layout.se
                    hasExpandOne = hasExpandOne || layout.expand == 1
                    hasStrideTwo = hasStrideTwo || layout.stride == 2
                    hasResidual = hasResidual || layout.hasResidual
                }
            case let .vit(body):
                hasViT = true
                patches.insert(body.patch)
            case let .mamba(body):
                patches.insert(body.patch)
                let tokens = body.tokenCount(input: architecture.input)
                hasLongMambaConvolution = hasLongMambaConvolution || body.layers.contains { $0.conv > tokens }
            }
        }
        #expect(architectures.filter { $0.family == .mbconv }.count == 54)
        #expect(architectures.filter { $0.family == .vit }.count == 26)
        #expect(architectures.filter { $0.family == .mamba }.count == 27)
        #expect(architectures.contains { $0.family == .mamba && $0.input.channels == 3 })
        #expect(architectures.contains { $0.family == .mamba && $0.input.height != $0.input.width })
        #expect(kernels == [1, 3, 5, 7])
        #expect(activations == Set(Activation.allCases))
        #expect(patches.isSuperset(of: [4, 7]))
        #expect(hasSE && hasExpandOne && hasNoHead && hasHead && hasStrideTwo && hasResidual && hasStemStrideTwo && hasViT
                && hasLongMambaConvolution)
    }
}
