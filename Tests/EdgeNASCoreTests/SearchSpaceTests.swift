import EdgeNASCore
import Foundation
import Testing

@Suite("Search spaces: loading, validation, membership")
struct SearchSpaceTests {
    @Test("the reference spaces load", arguments: Fixtures.spaceNames)
    func referenceSpaceLoads(name: String) throws {
        let space = try Fixtures.space(name)
        #expect(space.name == name)
        #expect(space.input == ImageShape(channels: 1, height: 28, width: 28))
        #expect(space.classes == 10)
    }

    @Test("the reference ViT space has the expected choices")
    func vitChoices() throws {
        let space = try Fixtures.space("fmnist-vit")
        #expect(space.body == .vit(ViTSpace(
            patch: [4, 7], embed: [48, 64, 96, 128], depth: [2, 3, 4, 5, 6], heads: [2, 4], mlpRatio: [2, 3, 4])))
    }

    @Test("a YAML space reads the same as its JSON twin")
    func yamlEqualsJSON() throws {
        let yaml = try SearchSpace(contentsOf: Fixtures.url("spaces/fmnist-mbconv-tiny.yaml"))
        #expect(yaml == (try Fixtures.space("fmnist-mbconv-tiny")))
    }

    @Test("every golden architecture belongs to the space it was drawn from")
    func goldenArchitecturesAreMembers() throws {
        let spaces = Dictionary(uniqueKeysWithValues: try Fixtures.allSpaces().map { ($0.name, $0) })
        for record in try Fixtures.records("cost-golden.jsonl") {
            let space = try #require(spaces[record.space ?? ""], "\(record.id)")
            #expect(throws: Never.self, "\(record.id)") { try space.checkMembership(record.architecture()) }
        }
    }

    @Test(
        "non-members are explained",
        arguments: [
            ("fmnist-vit", "cost-golden.jsonl", "fmnist-mbconv-00",
             #"family: expected "vit" (space fmnist-vit), got "mbconv""#),
            ("fmnist-mbconv-tiny", "cost-golden.jsonl", "fmnist-mbconv-00",
             "stem.channels: expected 8 as fixed by the space, got 16"),
            ("fmnist-mamba", "cost-golden.jsonl", "fmnist-vit-00",
             #"family: expected "mamba" (space fmnist-mamba), got "vit""#),
        ])
    func nonMember(spaceName: String, fileName: String, recordID: String, message: String) throws {
        let space = try Fixtures.space(spaceName)
        let record = try #require(try Fixtures.records(fileName).first { $0.id == recordID })
        let architecture = try record.architecture()
        #expect(!space.contains(architecture))
        let error = try #require(throws: ArchitectureError.self) { try space.checkMembership(architecture) }
        #expect("\(error)" == message)
    }

    @Test("a chosen value outside the choices names its path and the choices")
    func valueOutsideChoices() throws {
        let space = try Fixtures.space("fmnist-mbconv-tiny")
        var generator = SeededGenerator(seed: 3)
        var architecture = space.sample(using: &generator)
        guard case .mbconv(var body) = architecture.body else { Issue.record("not mbconv"); return }
        body.stages[1].channels = 40
        body.stages[2].blocks[0].kernel = 1
        architecture.body = .mbconv(body)
        #expect(architecture.isValid)
        #expect(throws: ArchitectureError(path: "stages[1].channels", reason: "expected one of 16, 24, got 40")) {
            try space.checkMembership(architecture)
        }
        body.stages[1].channels = 16
        architecture.body = .mbconv(body)
        #expect(throws: ArchitectureError(path: "stages[2].blocks[0].kernel", reason: "expected one of 3, 5, 7, got 1")) {
            try space.checkMembership(architecture)
        }
    }

    static let vitSpace = """
        {"format": "edgenas.space/1", "name": "test-vit", "family": "vit",
         "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10,
         "patch": [4, 7], "embed": [48, 64], "depth": [2, 3], "heads": [2, 4], "mlp_ratio": [2.0, 4.0]}
        """

    @Test(
        "bad JSON spaces give these exact errors",
        arguments: [
            (#""heads": [2, 4]"#, #""heads": [2, 3]"#, "space.json: heads[1]: must divide embed 64, got 3"),
            (#""patch": [4, 7]"#, #""patch": [4, 5]"#,
             "space.json: patch[1]: must divide the input height 28 and width 28, got 5"),
            (#""depth": [2, 3]"#, #""depth": [2, 2]"#, "space.json: depth[1]: duplicate choice 2"),
            (#""depth": [2, 3]"#, #""depth": []"#, "space.json: depth: expected a non-empty array"),
            (#""depth": [2, 3]"#, #""depth": 3"#, "space.json: depth: expected an array, got 3"),
            (#""mlp_ratio": [2.0, 4.0]"#, #""mlp_ratio": [2.0, 4.0, 2]"#, "space.json: mlp_ratio[2]: duplicate choice 2.0"),
            (#""name": "test-vit", "#, "", "space.json: name: missing required field"),
            (#""name": "test-vit""#, #""name": """#, "space.json: name: expected a non-empty string"),
            (#""classes": 10"#, #""classes": 10, "state": [4]"#,
             "space.json: state: unknown key (allowed: format, name, family, input, classes, patch, embed, depth, heads, mlp_ratio)"),
            ("edgenas.space/1", "edgenas.architecture/1",
             #"space.json: format: expected "edgenas.space/1", got "edgenas.architecture/1""#),
        ])
    func badJSONSpace(original: String, replacement: String, message: String) throws {
        let json = try Documents.editing(Self.vitSpace, original, replacement)
        do {
            let space = try SearchSpace(jsonData: Data(json.utf8), file: "space.json")
            Issue.record("decoded \(space.name)")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test("bad MBConv space choices name the stage and the element")
    func badMBConvSpace() throws {
        var space = try Fixtures.space("fmnist-mbconv-tiny")
        guard case .mbconv(var body) = space.body else { Issue.record("not mbconv"); return }
        body.stages[1].kernel = [3, 4, 7]
        space.body = .mbconv(body)
        #expect(throws: ArchitectureError(path: "stages[1].kernel[1]", reason: "expected one of 1, 3, 5, 7, got 4")) {
            try space.validate()
        }
        body.stages[1].kernel = [3, 5, 7]
        body.stages[3].se = [true, true]
        space.body = .mbconv(body)
        #expect(throws: ArchitectureError(path: "stages[3].se[1]", reason: "duplicate choice true")) {
            try space.validate()
        }
    }

    @Test("a space file that is YAML by its extension is read as YAML, and errors name the file")
    func yamlFileErrorsNameTheFile() throws {
        let error = try #require(throws: ArchitectureError.self) {
            try SearchSpace(contentsOf: URL(fileURLWithPath: "missing-space.yaml"))
        }
        #expect(error.file == "missing-space.yaml")
    }

    @Test(
        "bad YAML spaces give these exact errors",
        arguments: [
            ("heads: [2, 4]", "heads: [2, 3]", "space.yaml: heads[1]: must divide embed 64, got 3"),
            ("heads: [2, 4]", "heads: [2, \"4\"]", #"space.yaml: heads[1]: expected an integer, got "4""#),
            ("depth: [2, 3]", "depth: [2, 3\n", "space.yaml: invalid YAML: did not find expected ',' or ']' (line 10, column 6)"),
            ("classes: 10", "classes: 10\nstride: 1", "space.yaml: stride: unknown key (allowed: format, name, family, input, classes, patch, embed, depth, heads, mlp_ratio)"),
        ])
    func badYAMLSpace(original: String, replacement: String, message: String) throws {
        let yaml = """
            format: edgenas.space/1
            name: test-vit
            family: vit
            input: {channels: 1, height: 28, width: 28}
            classes: 10
            patch: [4, 7]
            embed: [48, 64]
            depth: [2, 3]
            heads: [2, 4]
            mlp_ratio: [2.0, 4.0]
            """
        _ = try SearchSpace(yamlString: yaml)
        let edited = try Documents.editing(yaml, original, replacement)
        do {
            let space = try SearchSpace(yamlString: edited, file: "space.yaml")
            Issue.record("decoded \(space.name)")
        } catch {
            #expect("\(error)" == message)
        }
    }
}

struct SearchSpaceEncodingTests {
    @Test(arguments: ["fmnist-mbconv-tiny.json", "fmnist-mbconv-tiny.yaml", "fmnist-vit.json", "fmnist-mamba.json", "fmnist-mbconv.json"])
    func canonicalJSONDecodesToTheSameSpace(name: String) throws {
        let url = try Fixtures.url("spaces/\(name)")
        let space = try SearchSpace(contentsOf: url)
        let again = try SearchSpace(jsonData: Data(space.canonicalJSON.utf8))
        #expect(again == space)
        #expect(again.canonicalJSON == space.canonicalJSON)
    }
}
