import EdgeNASCore
import EdgeNASData
@testable import EdgeNASProbes
import Foundation

/// Seeded synthetic greyscale images in 10 classes (class c: a bright bar at row 2c+4 plus
/// noise), enough for the probes' real-image tasks without reading a dataset from disk.
func syntheticImages(count: Int = 400, seed: UInt64 = 1) -> ImageDataset {
    var generator = SeededGenerator(seed: seed)
    var pixels = [UInt8](repeating: 0, count: count * 28 * 28)
    var labels: [UInt8] = []
    for index in 0..<count {
        let label = index % 10
        labels.append(UInt8(label))
        let column = 4 + generator.uniformIndex(below: 20)
        for row in 0..<28 {
            for x in 0..<28 {
                let bar = (row / 2 == label + 2 || x == column) ? 180 : 0
                pixels[index * 784 + row * 28 + x] = UInt8(min(255, bar + generator.uniformIndex(below: 60)))
            }
        }
    }
    return ImageDataset(height: 28, width: 28, pixels: pixels, labels: labels, classCount: 10)
}

/// A small configuration so that suites build in milliseconds.
func smallConfiguration() -> ProbeConfiguration {
    var configuration = ProbeConfiguration()
    configuration.maximumDataVolume = 128
    configuration.evaluationCount = 64
    return configuration
}

func architecture(_ json: String) throws -> Architecture {
    try Architecture(jsonData: Data(json.utf8))
}

let tinyMBConvJSON = """
{"format": "edgenas.architecture/1", "family": "mbconv", "input": {"channels": 1, "height": 28, "width": 28},
 "classes": 10, "activation": "relu6", "stem": {"channels": 8, "kernel": 3, "stride": 2},
 "stages": [{"channels": 16, "stride": 2, "blocks": [{"kernel": 3, "expand": 2, "se": false}]}],
 "head": {"channels": 0}}
"""

let widerMBConvJSON = """
{"format": "edgenas.architecture/1", "family": "mbconv", "input": {"channels": 1, "height": 28, "width": 28},
 "classes": 10, "activation": "relu6", "stem": {"channels": 16, "kernel": 3, "stride": 2},
 "stages": [{"channels": 32, "stride": 2, "blocks": [{"kernel": 5, "expand": 4, "se": true}, {"kernel": 3, "expand": 4, "se": false}]}],
 "head": {"channels": 64}}
"""

let tinyViTJSON = """
{"format": "edgenas.architecture/1", "family": "vit", "input": {"channels": 1, "height": 28, "width": 28},
 "classes": 10, "patch": 7, "embed": 16, "layers": [{"heads": 2, "mlp_ratio": 2.0}]}
"""

let tinyMambaJSON = """
{"format": "edgenas.architecture/1", "family": "mamba", "input": {"channels": 1, "height": 28, "width": 28},
 "classes": 10, "patch": 7, "embed": 16, "layers": [{"state": 4, "expand": 2, "conv": 3}]}
"""
