import EdgeNASCore
import EdgeNASModels
import EdgeNASTensor
import Foundation
import Testing
import TestSupport

/// A whole Mamba network against the PyTorch oracle (`../shared/reference/pytorch_reference.py`)
/// on the same weights and images: logits and every gradient, float64 oracle against the
/// float32 engine. Regenerate with `scripts/generate-network-goldens.py`.
@Suite struct MambaOracleTests {
    struct Values: Decodable {
        let shape: [Int]
        let values: [Double]
        var floats: [Float] { values.map(Float.init) }
    }

    struct Golden: Decodable {
        let parameters: [String: Values]
        let images: Values
        let logits: Values
        let outputWeights: Values
        let gradients: [String: Values]
        let imageGradient: Values
    }

    static func load(_ name: String) throws -> (Architecture, Golden) {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/oracle/\(name)", withExtension: "json"))
        let data = try Data(contentsOf: url)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let architecture = try Architecture(jsonData: JSONSerialization.data(withJSONObject: object["architecture"]!))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return (architecture, try decoder.decode(Golden.self, from: data))
    }

    @Test(arguments: ["mamba-patch7", "mamba-patch4"])
    func logitsAndGradientsMatchTheOracle(_ name: String) throws {
        let (architecture, golden) = try Self.load(name)
        let network = NetworkBuilder.network(for: architecture)
        let parameters = network.namedParameters()
        #expect(Set(parameters.map(\.name)) == Set(golden.parameters.keys), "\(name): parameter names differ from the oracle's")
        for (parameterName, tensor) in parameters {
            let values = try #require(golden.parameters[parameterName])
            try #require(values.values.count == tensor.count, "\(name) \(parameterName): \(tensor.shape) vs \(values.shape)")
            tensor.storage = values.floats
        }
        let images = Tensor(shape: golden.images.shape, storage: golden.images.floats, requiresGradient: true)
        let logits = network(images)
        expectClose(logits.storage, golden.logits.floats, atol: 1e-4, rtol: 1e-4, "\(name) logits")

        (logits * Tensor(shape: golden.outputWeights.shape, storage: golden.outputWeights.floats)).sum().backward()
        for (parameterName, tensor) in parameters {
            let gradient = try #require(tensor.gradient, "\(name): no gradient reached \(parameterName)")
            expectClose(gradient, try #require(golden.gradients[parameterName]).floats, atol: 1e-4, rtol: 1e-4,
                        "\(name) d/d\(parameterName)")
        }
        expectClose(try #require(images.gradient), golden.imageGradient.floats, atol: 1e-4, rtol: 1e-4, "\(name) d/dimages")
    }
}

private func expectClose(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float, _ label: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    let problem = closeness(actual, expected, atol: atol, rtol: rtol, label: label)
    #expect(problem == nil, "\(problem ?? "")", sourceLocation: sourceLocation)
}
