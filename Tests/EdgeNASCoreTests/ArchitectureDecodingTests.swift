import EdgeNASCore
import Foundation
import Testing

/// Valid documents the error table edits one field at a time.
enum Documents {
    static let mbconv = """
        {"format": "edgenas.architecture/1", "family": "mbconv",
         "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10,
         "activation": "relu6", "stem": {"channels": 16, "kernel": 3, "stride": 1},
         "stages": [{"channels": 24, "stride": 2, "blocks": [{"kernel": 3, "expand": 4, "se": false}, {"kernel": 5, "expand": 6, "se": true}]}],
         "head": {"channels": 256}}
        """
    static let vit = """
        {"format": "edgenas.architecture/1", "family": "vit",
         "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10,
         "patch": 4, "embed": 64, "layers": [{"heads": 2, "mlp_ratio": 2.0}, {"heads": 4, "mlp_ratio": 4.0}]}
        """
    static let mamba = """
        {"format": "edgenas.architecture/1", "family": "mamba",
         "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10,
         "patch": 4, "embed": 64, "layers": [{"state": 8, "expand": 2, "conv": 4}]}
        """

    /// `document` with the one occurrence of `original` replaced.
    static func editing(_ document: String, _ original: String, _ replacement: String) throws -> String {
        let range = try #require(document.range(of: original), "\(original) is not in the document")
        #expect(document.range(of: original, range: range.upperBound..<document.endIndex) == nil)
        return document.replacingCharacters(in: range, with: replacement)
    }
}

/// A bad document and the exact error it must produce.
struct BadDocument: Sendable, CustomTestStringConvertible {
    var label: String
    /// A whole document, or a valid one with one substring to replace.
    private var base: String
    private var edit: (original: String, replacement: String)?
    var message: String

    init(label: String, json: String, message: String) {
        self.label = label
        self.base = json
        self.message = message
    }

    init(label: String, editing base: String, _ original: String, _ replacement: String, message: String) {
        self.label = label
        self.base = base
        self.edit = (original, replacement)
        self.message = message
    }

    func document() throws -> String {
        guard let edit else { return base }
        return try Documents.editing(base, edit.original, edit.replacement)
    }

    var testDescription: String { label }

    /// Decoding the document as `arch.json` fails with exactly ``message``.
    func expectRefused() throws {
        let json = try document()
        do {
            let architecture = try Architecture(jsonData: Data(json.utf8), file: "arch.json")
            Issue.record("decoded \(architecture.canonicalJSON)")
        } catch {
            #expect("\(error)" == message)
        }
    }
}

@Suite("Decoding and validating architectures")
struct ArchitectureDecodingTests {
    @Test("the spec's examples decode", arguments: [Documents.mbconv, Documents.vit, Documents.mamba])
    func specExamplesDecode(json: String) throws {
        _ = try Architecture(jsonData: Data(json.utf8))
    }

    @Test("the spec's MBConv example decodes to these values")
    func mbconvValues() throws {
        let architecture = try Architecture(jsonData: Data(Documents.mbconv.utf8))
        #expect(architecture.input == ImageShape(channels: 1, height: 28, width: 28))
        #expect(architecture.classes == 10)
        #expect(architecture.body == .mbconv(MBConvBody(
            activation: .relu6,
            stem: MBConvStem(channels: 16, kernel: 3, stride: 1),
            stages: [MBConvStage(channels: 24, stride: 2, blocks: [
                MBConvBlock(kernel: 3, expand: 4, se: false), MBConvBlock(kernel: 5, expand: 6, se: true),
            ])],
            headChannels: 256)))
    }

    static let badDocuments: [BadDocument] = [
        BadDocument(
            label: "bad JSON syntax",
            json: #"{"format": "edgenas.architecture/1", "family" "mbconv"}"#,
            message: "arch.json: invalid JSON: Invalid value around character 46 (line 1, column 47)"),
        BadDocument(
            label: "bad JSON syntax on the third line",
            json: "{\n  \"classes\": 10,\n  \"patch\": ]\n}",
            message: "arch.json: invalid JSON: Invalid value around character 30 (line 3, column 12)"),
        BadDocument(
            label: "truncated JSON",
            json: #"{"format": "edgenas.architecture/1", "#,
            message: "arch.json: invalid JSON: Unexpected end of file during JSON parse."),
        BadDocument(
            label: "root is not an object",
            json: "[1, 2]",
            message: "arch.json: expected an object, got an array"),
        BadDocument(
            label: "bad format string",
            editing: Documents.mbconv, "edgenas.architecture/1", "edgenas.architecture/2",
            message: #"arch.json: format: expected "edgenas.architecture/1", got "edgenas.architecture/2""#),
        BadDocument(
            label: "missing format",
            editing: Documents.mbconv, #""format": "edgenas.architecture/1", "#, "",
            message: "arch.json: format: missing required field"),
        BadDocument(
            label: "unknown family",
            editing: Documents.mbconv, #""family": "mbconv""#, #""family": "resnet""#,
            message: #"arch.json: family: expected one of "mbconv", "vit", "mamba", got "resnet""#),
        BadDocument(
            label: "unknown top-level key",
            editing: Documents.mbconv, #""classes": 10,"#, #""classes": 10, "dropout": 0.1,"#,
            message: "arch.json: dropout: unknown key (allowed: format, family, input, classes, activation, stem, stages, head)"),
        BadDocument(
            label: "unknown key in a block",
            editing: Documents.mbconv, #"{"kernel": 3, "expand": 4"#, #"{"kernal": 3, "expand": 4"#,
            message: "arch.json: stages[0].blocks[0].kernal: unknown key (allowed: kernel, expand, se)"),
        BadDocument(
            label: "wrong type",
            editing: Documents.mbconv, #""classes": 10"#, #""classes": "10""#,
            message: #"arch.json: classes: expected an integer, got "10""#),
        BadDocument(
            label: "a real where an integer belongs",
            editing: Documents.mbconv, #""kernel": 5"#, #""kernel": 5.0"#,
            message: "arch.json: stages[0].blocks[1].kernel: expected an integer, got 5.0"),
        BadDocument(
            label: "a number where a boolean belongs",
            editing: Documents.mbconv, #""se": true"#, #""se": 1"#,
            message: "arch.json: stages[0].blocks[1].se: expected true or false, got 1"),
        BadDocument(
            label: "kernel 4",
            editing: Documents.mbconv, #""kernel": 5"#, #""kernel": 4"#,
            message: "arch.json: stages[0].blocks[1].kernel: expected one of 1, 3, 5, 7, got 4"),
        BadDocument(
            label: "stride 3",
            editing: Documents.mbconv, #""stride": 2"#, #""stride": 3"#,
            message: "arch.json: stages[0].stride: expected one of 1, 2, got 3"),
        BadDocument(
            label: "expand 9",
            editing: Documents.mbconv, #""expand": 6"#, #""expand": 9"#,
            message: "arch.json: stages[0].blocks[1].expand: expected an integer from 1 to 8, got 9"),
        BadDocument(
            label: "unknown activation",
            editing: Documents.mbconv, #""relu6""#, #""tanh""#,
            message: #"arch.json: activation: expected one of "relu", "relu6", "hswish", "silu", "gelu", got "tanh""#),
        BadDocument(
            label: "missing field",
            editing: Documents.mbconv, #""kernel": 3, "stride": 1}"#, #""kernel": 3}"#,
            message: "arch.json: stem.stride: missing required field"),
        BadDocument(
            label: "non-positive size",
            editing: Documents.mbconv, #""height": 28"#, #""height": 0"#,
            message: "arch.json: input.height: expected a positive integer, got 0"),
        BadDocument(
            label: "negative head channels",
            editing: Documents.mbconv, #""head": {"channels": 256}"#, #""head": {"channels": -1}"#,
            message: "arch.json: head.channels: expected a non-negative integer, got -1"),
        BadDocument(
            label: "a stage without blocks",
            editing: Documents.mbconv,
                #""blocks": [{"kernel": 3, "expand": 4, "se": false}, {"kernel": 5, "expand": 6, "se": true}]"#,
                #""blocks": []"#,
            message: "arch.json: stages[0].blocks: expected a non-empty array"),
        BadDocument(
            label: "patch not dividing the image",
            editing: Documents.vit, #""patch": 4"#, #""patch": 5"#,
            message: "arch.json: patch: must divide the input height 28 and width 28, got 5"),
        BadDocument(
            label: "embed not divisible by heads",
            editing: Documents.vit, #""heads": 4"#, #""heads": 3"#,
            message: "arch.json: layers[1].heads: must divide embed 64, got 3"),
        BadDocument(
            label: "non-positive MLP ratio",
            editing: Documents.vit, #""mlp_ratio": 2.0"#, #""mlp_ratio": 0"#,
            message: "arch.json: layers[0].mlp_ratio: expected a positive number, got 0.0"),
        BadDocument(
            label: "a ViT key in a Mamba document",
            editing: Documents.mamba, #""conv": 4"#, #""conv": 4, "heads": 2"#,
            message: "arch.json: layers[0].heads: unknown key (allowed: state, expand, conv)"),
        BadDocument(
            label: "Mamba patch not dividing the image",
            editing: Documents.mamba, #""patch": 4"#, #""patch": 3"#,
            message: "arch.json: patch: must divide the input height 28 and width 28, got 3"),
        BadDocument(
            label: "zero Mamba conv",
            editing: Documents.mamba, #""conv": 4"#, #""conv": 0"#,
            message: "arch.json: layers[0].conv: expected a positive integer, got 0"),
        BadDocument(
            label: "a space where an architecture belongs",
            editing: Documents.mbconv, "edgenas.architecture/1", "edgenas.space/1",
            message: #"arch.json: format: expected "edgenas.architecture/1", got "edgenas.space/1""#),
    ]

    @Test("bad documents give these exact errors", arguments: badDocuments)
    func badDocument(_ bad: BadDocument) throws {
        try bad.expectRefused()
    }

    @Test("errors carry path, reason and file separately")
    func errorParts() throws {
        let json = try Documents.editing(Documents.vit, #""heads": 4"#, #""heads": 3"#)
        let error = try #require(throws: ArchitectureError.self) {
            try Architecture(jsonData: Data(json.utf8), file: "vit.json")
        }
        #expect(error.path == "layers[1].heads")
        #expect(error.reason == "must divide embed 64, got 3")
        #expect(error.file == "vit.json")
    }

    @Test("a missing file is reported with its path")
    func missingFile() throws {
        let error = try #require(throws: ArchitectureError.self) {
            try Architecture(contentsOf: URL(fileURLWithPath: "no-such-architecture.json"))
        }
        #expect(error.file == "no-such-architecture.json")
        #expect(error.path.isEmpty)
        #expect(error.reason == "no such file")
        #expect(error.localizedDescription == "no-such-architecture.json: no such file")
    }

    @Test("validate() checks architectures built in code")
    func validateBuiltInCode() {
        let architecture = Architecture(
            input: ImageShape(channels: 3, height: 32, width: 32), classes: 10,
            body: .vit(ViTBody(patch: 4, embed: 48, layers: [ViTLayer(heads: 5, mlpRatio: 2)])))
        #expect(!architecture.isValid)
        #expect(throws: ArchitectureError(path: "layers[0].heads", reason: "must divide embed 48, got 5")) {
            try architecture.validate()
        }
    }
}
