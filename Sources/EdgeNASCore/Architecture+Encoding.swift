import Foundation

extension Architecture: Identifiable {
    /// The canonical JSON text: keys in the spec's order, `", "` and `": "` as separators,
    /// no other whitespace, integers in decimal, `mlp_ratio` as the shortest text that
    /// reads back to the same double and always with a fraction (`2.0`, `2.5`).
    ///
    /// This is what Python's `json.dumps` prints for the same object with the same key
    /// order, so the lines of the reference data reproduce byte for byte. The same
    /// architecture always gives the same text, and decoding it gives back an equal value.
    public var canonicalJSON: String {
        var fields = [
            ("format", quoted(Self.formatIdentifier)),
            ("family", quoted(family.rawValue)),
            ("input", jsonObject([
                ("channels", String(input.channels)),
                ("height", String(input.height)),
                ("width", String(input.width)),
            ])),
            ("classes", String(classes)),
        ]
        switch body {
        case .mbconv(let mbconv):
            fields += [
                ("activation", quoted(mbconv.activation.rawValue)),
                ("stem", jsonObject([
                    ("channels", String(mbconv.stem.channels)),
                    ("kernel", String(mbconv.stem.kernel)),
                    ("stride", String(mbconv.stem.stride)),
                ])),
                ("stages", jsonArray(mbconv.stages.map { stage in
                    jsonObject([
                        ("channels", String(stage.channels)),
                        ("stride", String(stage.stride)),
                        ("blocks", jsonArray(stage.blocks.map { block in
                            jsonObject([
                                ("kernel", String(block.kernel)),
                                ("expand", String(block.expand)),
                                ("se", block.se ? "true" : "false"),
                            ])
                        })),
                    ])
                })),
                ("head", jsonObject([("channels", String(mbconv.headChannels))])),
            ]
        case .vit(let vit):
            fields += [
                ("patch", String(vit.patch)),
                ("embed", String(vit.embed)),
                ("layers", jsonArray(vit.layers.map { layer in
                    jsonObject([
                        ("heads", String(layer.heads)),
                        ("mlp_ratio", CanonicalNumber.text(for: layer.mlpRatio)),
                    ])
                })),
            ]
        case .mamba(let mamba):
            fields += [
                ("patch", String(mamba.patch)),
                ("embed", String(mamba.embed)),
                ("layers", jsonArray(mamba.layers.map { layer in
                    jsonObject([
                        ("state", String(layer.state)),
                        ("expand", String(layer.expand)),
                        ("conv", String(layer.conv)),
                    ])
                })),
            ]
        }
        return jsonObject(fields)
    }

    /// ``canonicalJSON`` as UTF-8 bytes.
    public var canonicalJSONData: Data {
        Data(canonicalJSON.utf8)
    }

    /// A stable identifier: the first 16 hexadecimal digits of the SHA-256 of
    /// ``canonicalJSON``. Equal architectures have equal ids on every platform.
    public var id: String {
        String(SHA256.hexDigest(of: Array(canonicalJSON.utf8)).prefix(16))
    }
}

/// Number formatting shared by the canonical encoder and error messages.
enum CanonicalNumber {
    /// The shortest decimal text that reads back to `value`, with `.0` for integral
    /// values (`2.0`, `0.25`, `1e-05`), matching Python's `repr` for ordinary values.
    static func text(for value: Double) -> String {
        value.description
    }
}

private func quoted(_ text: String) -> String {
    // Only enumeration raw values and the format string are quoted; none needs escaping.
    "\"\(text)\""
}

private func jsonObject(_ fields: [(String, String)]) -> String {
    "{" + fields.map { "\(quoted($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
}

private func jsonArray(_ elements: [String]) -> String {
    "[" + elements.joined(separator: ", ") + "]"
}
