import EdgeNASCore
import EdgeNASModels
import EdgeNASTensor
import Foundation
import Testing
import TestSupport

/// Every trainable architecture of the golden cost file, decoded.
private func goldenArchitectures() throws -> [(id: String, architecture: Architecture, params: Int)] {
    try ReferenceData.jsonLines("cost-golden.jsonl").compactMap { record in
        let architecture = try Architecture(jsonData: ReferenceData.architectureData(of: record))
        return (record["id"] as! String, architecture, record["params"] as! Int)
    }
}

@Suite struct NetworkTests {
    @Test func trainableParameterCountEqualsAnalyticParamsForEveryGoldenArchitecture() throws {
        let records = try goldenArchitectures()
        #expect(records.count == 100)
        for (id, architecture, params) in records {
            let network = NetworkBuilder.network(for: architecture)
            #expect(network.parameterCount == params, "\(id): network has \(network.parameterCount), golden \(params)")
            #expect(architecture.cost.params == params, "\(id)")
        }
    }

    @Test func forwardGivesLogitsAndFeaturesOfTheRightShape() throws {
        for (id, architecture, _) in try goldenArchitectures().prefix(60).enumerated().filter({ $0.offset % 6 == 0 }).map(\.element) {
            let network = NetworkBuilder.network(for: architecture, seed: 3)
            let input = randomTensor([2, architecture.input.channels, architecture.input.height, architecture.input.width],
                                     seed: 5, requiresGradient: false)
            let logits = network(input)
            #expect(logits.shape == [2, architecture.classes], "\(id)")
            #expect(logits.storage.allSatisfy { $0.isFinite }, "\(id)")
            #expect(network.features(input).shape == [2, network.featureCount], "\(id)")
        }
    }

    @Test func probeInputChannelsReplaceOnlyTheStemInput() throws {
        let (_, architecture, params) = try goldenArchitectures()[0]
        let network = NetworkBuilder.network(for: architecture, inputChannels: 3)
        let stemWidth: Int
        switch architecture.body {
        case let .mbconv(body): stemWidth = body.stem.channels * body.stem.kernel * body.stem.kernel
        case let .vit(body): stemWidth = body.embed * body.patch * body.patch
        case .mamba: Issue.record("unexpected family"); return
        }
        #expect(network.parameterCount == params + 2 * stemWidth)
        let logits = network(randomTensor([1, 3, 28, 28], seed: 1, requiresGradient: false))
        #expect(logits.shape == [1, architecture.classes])
    }

    @Test func sameSeedBuildsTheSameWeights() throws {
        let (_, architecture, _) = try goldenArchitectures()[30]
        let first = NetworkBuilder.network(for: architecture, seed: 9).namedParameters()
        let second = NetworkBuilder.network(for: architecture, seed: 9).namedParameters()
        let other = NetworkBuilder.network(for: architecture, seed: 10).namedParameters()
        #expect(first.map(\.name) == second.map(\.name))
        #expect(zip(first, second).allSatisfy { $0.tensor.storage == $1.tensor.storage })
        #expect(!zip(first, other).allSatisfy { $0.tensor.storage == $1.tensor.storage })
    }

    @Test func parameterNamesAreUniqueAndDescribeTheArchitecture() throws {
        for (id, architecture, _) in try goldenArchitectures() {
            let names = NetworkBuilder.network(for: architecture).namedState().map(\.name)
            #expect(Set(names).count == names.count, "\(id): duplicate tensor names")
        }
        let mbconv = try goldenArchitectures().first { $0.architecture.family == .mbconv }!.architecture
        let names = NetworkBuilder.network(for: mbconv).namedState().map(\.name)
        #expect(names.contains("stem.conv.weight"))
        #expect(names.contains("stages.0.blocks.0.depthwise.conv.weight"))
        #expect(names.contains("stages.0.blocks.0.project.bn.running_var"))
        #expect(names.contains("classifier.bias"))
    }

    @Test func gradientsReachEveryParameterOfAnMBConvWithSEAndResidual() throws {
        let architecture = try goldenArchitectures().first { record in
            guard case let .mbconv(body) = record.architecture.body else { return false }
            let layouts = body.blockLayouts(input: record.architecture.input)
            return layouts.contains(where: \.se) && layouts.contains(where: \.hasResidual) && layouts.contains { $0.expand == 1 }
        }!.architecture
        let network = NetworkBuilder.network(for: architecture, seed: 1)
        let images = randomTensor([4, 1, 28, 28], seed: 2, requiresGradient: false)
        crossEntropy(logits: network(images), labels: [0, 1, 2, 3]).backward()
        for (name, tensor) in network.namedParameters() {
            let gradient = try #require(tensor.gradient, "\(name) got no gradient")
            #expect(gradient.contains { $0 != 0 }, "\(name) has an all-zero gradient")
        }
    }
}
