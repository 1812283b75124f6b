import Foundation

extension Architecture {
    /// Decodes and validates an `edgenas.architecture/1` JSON document.
    ///
    /// Unknown keys, missing fields, wrong types and values the format does not allow
    /// are all rejected; see ``validate()`` for the value rules.
    ///
    /// - Parameters:
    ///   - jsonData: UTF-8 JSON bytes.
    ///   - file: Name of the file the bytes came from, for error messages.
    /// - Throws: ``ArchitectureError`` naming the file, the JSON path and the reason.
    public init(jsonData: Data, file: String? = nil) throws {
        do {
            self = try Architecture(document: DocumentNode(DocumentValue.parseJSON(jsonData)))
        } catch let error as ArchitectureError {
            throw error.attributed(to: file)
        }
    }

    /// Reads, decodes and validates an architecture file; errors name the path as given.
    ///
    /// - Throws: ``ArchitectureError`` when the file cannot be read or is not a valid
    ///   architecture.
    public init(contentsOf url: URL) throws {
        try self.init(jsonData: readDocument(at: url), file: url.relativePath)
    }

    init(document: DocumentNode) throws {
        let object = try document.object()
        try checkFormat(of: object, expected: Self.formatIdentifier)
        let family = try object.required("family").enumeration(ArchitectureFamily.self)
        try object.rejectUnknownKeys(allowed: Self.documentKeys(for: family))
        input = try ImageShape(document: object.required("input"))
        classes = try object.required("classes").integer()
        switch family {
        case .mbconv: body = .mbconv(try MBConvBody(document: object))
        case .vit: body = .vit(try ViTBody(document: object))
        case .mamba: body = .mamba(try MambaBody(document: object))
        }
        try validate()
    }

    /// Top-level keys in canonical order.
    static func documentKeys(for family: ArchitectureFamily) -> [String] {
        let envelope = ["format", "family", "input", "classes"]
        switch family {
        case .mbconv: return envelope + ["activation", "stem", "stages", "head"]
        case .vit, .mamba: return envelope + ["patch", "embed", "layers"]
        }
    }
}

/// Rejects a document whose `format` is not `expected`.
func checkFormat(of object: DocumentObject, expected: String) throws {
    let node = try object.required("format")
    guard try node.string() == expected else {
        throw ArchitectureError(at: node.path, "expected \"\(expected)\", got \(node.value.summary)")
    }
}

/// The bytes of an input file (an architecture, a space, a device, a list of architectures).
///
/// - Throws: ``ArchitectureError`` naming the file, with no field path, when it does not
///   exist, is a directory, is empty (`/dev/null` too) or cannot be read, saying which.
public func readDocument(at url: URL) throws -> Data {
    let file = url.relativePath
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw ArchitectureError(path: "", reason: "no such file", file: file)
    }
    if isDirectory.boolValue {
        throw ArchitectureError(path: "", reason: "is a directory, not a file; name the file inside it", file: file)
    }
    guard FileManager.default.isReadableFile(atPath: url.path) else {
        throw ArchitectureError(path: "", reason: "cannot read the file: permission denied (check its permissions)", file: file)
    }
    let data: Data
    do {
        // Devices and pipes (/dev/null, <(command)) are read as streams: Foundation's
        // whole-file read refuses them with a misleading "permission denied".
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        if let type = attributes?[.type] as? FileAttributeType, type != .typeRegular {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            data = try handle.readToEnd() ?? Data()
        } else {
            data = try Data(contentsOf: url)
        }
    } catch {
        let reason = (error as NSError).userInfo[NSUnderlyingErrorKey].map { "\($0)" } ?? error.localizedDescription
        throw ArchitectureError(path: "", reason: "cannot read the file (\(reason))", file: file)
    }
    guard !data.isEmpty else { throw ArchitectureError(path: "", reason: "the file is empty", file: file) }
    return data
}

extension ImageShape {
    init(document: DocumentNode) throws {
        let object = try document.object(allowedKeys: ["channels", "height", "width"])
        channels = try object.required("channels").integer()
        height = try object.required("height").integer()
        width = try object.required("width").integer()
    }
}

extension MBConvStem {
    init(document: DocumentNode) throws {
        let object = try document.object(allowedKeys: ["channels", "kernel", "stride"])
        channels = try object.required("channels").integer()
        kernel = try object.required("kernel").integer()
        stride = try object.required("stride").integer()
    }
}

extension MBConvBody {
    init(document object: DocumentObject) throws {
        activation = try object.required("activation").enumeration(Activation.self)
        stem = try MBConvStem(document: object.required("stem"))
        stages = try object.required("stages").nonEmptyArray().map { stageNode in
            let stage = try stageNode.object(allowedKeys: ["channels", "stride", "blocks"])
            return MBConvStage(
                channels: try stage.required("channels").integer(),
                stride: try stage.required("stride").integer(),
                blocks: try stage.required("blocks").nonEmptyArray().map { blockNode in
                    let block = try blockNode.object(allowedKeys: ["kernel", "expand", "se"])
                    return MBConvBlock(
                        kernel: try block.required("kernel").integer(),
                        expand: try block.required("expand").integer(),
                        se: try block.required("se").bool())
                })
        }
        let head = try object.required("head").object(allowedKeys: ["channels"])
        headChannels = try head.required("channels").integer()
    }
}

extension ViTBody {
    init(document object: DocumentObject) throws {
        patch = try object.required("patch").integer()
        embed = try object.required("embed").integer()
        layers = try object.required("layers").nonEmptyArray().map { layerNode in
            let layer = try layerNode.object(allowedKeys: ["heads", "mlp_ratio"])
            return ViTLayer(
                heads: try layer.required("heads").integer(),
                mlpRatio: try layer.required("mlp_ratio").real())
        }
    }
}

extension MambaBody {
    init(document object: DocumentObject) throws {
        patch = try object.required("patch").integer()
        embed = try object.required("embed").integer()
        layers = try object.required("layers").nonEmptyArray().map { layerNode in
            let layer = try layerNode.object(allowedKeys: ["state", "expand", "conv"])
            return MambaLayer(
                state: try layer.required("state").integer(),
                expand: try layer.required("expand").integer(),
                conv: try layer.required("conv").integer())
        }
    }
}
