import Foundation

extension SearchSpace {
    /// Decodes and validates an `edgenas.space/1` JSON document.
    ///
    /// - Parameters:
    ///   - jsonData: UTF-8 JSON bytes.
    ///   - file: Name of the file the bytes came from, for error messages.
    /// - Throws: ``ArchitectureError`` naming the file, the JSON path and the reason.
    public init(jsonData: Data, file: String? = nil) throws {
        do {
            self = try SearchSpace(document: DocumentNode(DocumentValue.parseJSON(jsonData)))
        } catch let error as ArchitectureError {
            throw error.attributed(to: file)
        }
    }

    /// Decodes and validates an `edgenas.space/1` document written in YAML, with the same
    /// keys, rules and error paths as JSON.
    ///
    /// - Throws: ``ArchitectureError`` naming the file, the path and the reason.
    public init(yamlString: String, file: String? = nil) throws {
        do {
            self = try SearchSpace(document: DocumentNode(DocumentValue.parseYAML(yamlString)))
        } catch let error as ArchitectureError {
            throw error.attributed(to: file)
        }
    }

    /// Reads a space file: YAML when the name ends in `.yaml` or `.yml`, JSON otherwise.
    ///
    /// - Throws: ``ArchitectureError`` when the file cannot be read or is not a valid space.
    public init(contentsOf url: URL) throws {
        let data = try readDocument(at: url)
        let file = url.relativePath
        switch url.pathExtension.lowercased() {
        case "yaml", "yml":
            guard let text = String(data: data, encoding: .utf8) else {
                throw ArchitectureError(path: "", reason: "invalid YAML: the file is not UTF-8 text", file: file)
            }
            try self.init(yamlString: text, file: file)
        default:
            try self.init(jsonData: data, file: file)
        }
    }

    init(document: DocumentNode) throws {
        let object = try document.object()
        try checkFormat(of: object, expected: Self.formatIdentifier)
        name = try object.required("name").string()
        let family = try object.required("family").enumeration(ArchitectureFamily.self)
        try object.rejectUnknownKeys(allowed: Self.documentKeys(for: family))
        input = try ImageShape(document: object.required("input"))
        classes = try object.required("classes").integer()
        switch family {
        case .mbconv: body = .mbconv(try MBConvSpace(document: object))
        case .vit: body = .vit(try ViTSpace(document: object))
        case .mamba: body = .mamba(try MambaSpace(document: object))
        }
        try validate()
    }

    static func documentKeys(for family: ArchitectureFamily) -> [String] {
        let envelope = ["format", "name", "family", "input", "classes"]
        switch family {
        case .mbconv: return envelope + ["activation", "stem", "stages", "head"]
        case .vit: return envelope + ["patch", "embed", "depth", "heads", "mlp_ratio"]
        case .mamba: return envelope + ["patch", "embed", "depth", "state", "expand", "conv"]
        }
    }
}

extension MBConvSpace {
    init(document object: DocumentObject) throws {
        activation = try object.required("activation").enumeration(Activation.self)
        stem = try MBConvStem(document: object.required("stem"))
        stages = try object.required("stages").list { stageNode in
            let stage = try stageNode.object(
                allowedKeys: ["channels", "stride", "depth", "kernel", "expand", "se"])
            return MBConvStageSpace(
                channels: try stage.required("channels").list { try $0.integer() },
                stride: try stage.required("stride").integer(),
                depth: try stage.required("depth").list { try $0.integer() },
                kernel: try stage.required("kernel").list { try $0.integer() },
                expand: try stage.required("expand").list { try $0.integer() },
                se: try stage.required("se").list { try $0.bool() })
        }
        let head = try object.required("head").object(allowedKeys: ["channels"])
        headChannels = try head.required("channels").list { try $0.integer() }
    }
}

extension ViTSpace {
    init(document object: DocumentObject) throws {
        patch = try object.required("patch").list { try $0.integer() }
        embed = try object.required("embed").list { try $0.integer() }
        depth = try object.required("depth").list { try $0.integer() }
        heads = try object.required("heads").list { try $0.integer() }
        mlpRatio = try object.required("mlp_ratio").list { try $0.real() }
    }
}

extension MambaSpace {
    init(document object: DocumentObject) throws {
        patch = try object.required("patch").list { try $0.integer() }
        embed = try object.required("embed").list { try $0.integer() }
        depth = try object.required("depth").list { try $0.integer() }
        state = try object.required("state").list { try $0.integer() }
        expand = try object.required("expand").list { try $0.integer() }
        conv = try object.required("conv").list { try $0.integer() }
    }
}
