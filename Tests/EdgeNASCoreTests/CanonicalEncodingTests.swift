import EdgeNASCore
import Foundation
import Testing

@Suite("Canonical JSON and stable ids")
struct CanonicalEncodingTests {
    @Test("canonical JSON reproduces the reference lines byte for byte")
    func matchesReferenceText() throws {
        for fileName in ["cost-golden.jsonl", "groundtruth-dev.jsonl"] {
            for record in try Fixtures.records(fileName) {
                #expect(try record.architecture().canonicalJSON == record.architectureText, "\(record.id)")
            }
        }
    }

    @Test("decoding the canonical JSON gives back an equal architecture")
    func roundTrip() throws {
        for record in try Fixtures.records("cost-golden.jsonl") {
            let architecture = try record.architecture()
            let decoded = try Architecture(jsonData: architecture.canonicalJSONData)
            #expect(decoded == architecture, "\(record.id)")
            #expect(decoded.canonicalJSON == architecture.canonicalJSON, "\(record.id)")
        }
    }

    @Test("key order and whitespace of the input do not change the canonical bytes")
    func independentOfLayout() throws {
        let shuffled = """
            {
              "layers": [ {"mlp_ratio": 2, "heads": 2},{"mlp_ratio":4.0,"heads":4} ],
              "embed": 64, "patch": 4, "classes": 10,
              "input": {"width": 28, "height": 28, "channels": 1},
              "family": "vit", "format": "edgenas.architecture/1"
            }
            """
        let architecture = try Architecture(jsonData: Data(shuffled.utf8))
        #expect(architecture.canonicalJSON == """
            {"format": "edgenas.architecture/1", "family": "vit", "input": {"channels": 1, "height": 28, "width": 28}, \
            "classes": 10, "patch": 4, "embed": 64, "layers": [{"heads": 2, "mlp_ratio": 2.0}, {"heads": 4, "mlp_ratio": 4.0}]}
            """)
    }

    @Test("MLP ratios print as the shortest text that reads back, always with a fraction")
    func mlpRatioText() throws {
        let architecture = Architecture(
            input: ImageShape(channels: 1, height: 28, width: 28), classes: 10,
            body: .vit(ViTBody(patch: 7, embed: 48, layers: [
                ViTLayer(heads: 2, mlpRatio: 3), ViTLayer(heads: 2, mlpRatio: 2.5), ViTLayer(heads: 2, mlpRatio: 0.1),
            ])))
        #expect(architecture.canonicalJSON.hasSuffix(
            #""layers": [{"heads": 2, "mlp_ratio": 3.0}, {"heads": 2, "mlp_ratio": 2.5}, {"heads": 2, "mlp_ratio": 0.1}]}"#))
        #expect(try Architecture(jsonData: architecture.canonicalJSONData) == architecture)
    }

    @Test("ids are the first 16 hex digits of the SHA-256 of the canonical bytes, as Python computes them")
    func stableIds() throws {
        // hashlib.sha256(json.dumps(record["arch"]).encode()).hexdigest()[:16]
        let expected = [
            "fmnist-mbconv-00": "b3b5539103edd760",
            "fmnist-vit-00": "2ff773f69b8cb240",
            "fmnist-mamba-00": "2dea6b4ed527dca7",
        ]
        let records = try Fixtures.records("cost-golden.jsonl")
        for (id, digest) in expected {
            let record = try #require(records.first { $0.id == id })
            #expect(try record.architecture().id == digest, "\(id)")
        }
    }

    @Test("different architectures get different ids")
    func distinctIds() throws {
        let architectures = try Fixtures.records("cost-golden.jsonl").map { try $0.architecture() }
        #expect(Set(architectures.map(\.id)).count == Set(architectures).count)
    }
}
