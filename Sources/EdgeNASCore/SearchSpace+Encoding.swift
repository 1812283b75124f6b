import Foundation

extension SearchSpace {
    /// The space as JSON text with sorted keys: the same space always gives the same text,
    /// whether it was read from JSON or YAML, and decoding it gives back an equal space.
    /// Search runs store it so that a resumed run uses exactly the space it started with.
    public var canonicalJSON: String {
        var object: [String: Any] = [
            "format": Self.formatIdentifier, "name": name, "family": family.rawValue, "classes": classes,
            "input": ["channels": input.channels, "height": input.height, "width": input.width],
        ]
        switch body {
        case .mbconv(let space):
            object["activation"] = space.activation.rawValue
            object["stem"] = ["channels": space.stem.channels, "kernel": space.stem.kernel, "stride": space.stem.stride]
            object["stages"] = space.stages.map { stage -> [String: Any] in
                ["channels": stage.channels, "stride": stage.stride, "depth": stage.depth, "kernel": stage.kernel,
                 "expand": stage.expand, "se": stage.se]
            }
            object["head"] = ["channels": space.headChannels]
        case .vit(let space):
            object["patch"] = space.patch
            object["embed"] = space.embed
            object["depth"] = space.depth
            object["heads"] = space.heads
            object["mlp_ratio"] = space.mlpRatio
        case .mamba(let space):
            object["patch"] = space.patch
            object["embed"] = space.embed
            object["depth"] = space.depth
            object["state"] = space.state
            object["expand"] = space.expand
            object["conv"] = space.conv
        }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
