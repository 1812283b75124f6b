import ArgumentParser
import EdgeNASCore
import Foundation

/// `edgenas count`: Params, MACs and FLOPs of one architecture file.
struct Count: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count the Params, MACs and FLOPs of an architecture.",
        discussion: """
            Reads one edgenas.architecture/1 JSON file, validates it, and counts analytically, \
            for one image: Params (trainable scalars, BatchNorm running statistics excluded), \
            MACs (multiply-accumulates of convolutions, linear layers and the two attention \
            products) and FLOPs (2 × MACs). Norms, activations, pooling and the SSM scan's \
            element-wise work are not counted.

            An invalid file exits with status 64 and names the field that is wrong, for example:
              arch.json: stages[2].blocks[0].kernel: expected one of 1, 3, 5, 7, got 4

            Examples:
              edgenas count arch.json
                Params 478602, MACs 17592832, MFLOPs 35.186
              edgenas count arch.json --json
                {"params": 478602, "macs": 17592832, "flops": 35185664}
            """)

    @Argument(help: ArgumentHelp("The architecture file (edgenas.architecture/1 JSON).", valueName: "ARCH.json"))
    var architecture: String

    @Flag(help: #"Print {"params": P, "macs": M, "flops": F} on one line instead of text."#)
    var json = false

    func run() throws {
        let path = architecture
        let loaded = try exitOnBadInput { try Architecture(contentsOf: URL(fileURLWithPath: path)) }
        let cost = loaded.cost
        if json {
            print(#"{"params": \#(cost.params), "macs": \#(cost.macs), "flops": \#(cost.flops)}"#)
        } else {
            print(cost.description)
        }
    }
}

/// `edgenas sample`: seeded random architectures from a search space.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw random architectures from a search space.",
        discussion: """
            Reads an edgenas.space/1 file (JSON, or YAML when the name ends in .yaml or .yml) \
            and prints COUNT architectures, one canonical JSON object per line, picking every \
            choice uniformly and independently. The same seed prints the same lines on every \
            machine; the i-th line comes from the i-th draw of one seeded stream, so a larger \
            count extends a smaller one.

            An invalid space exits with status 64 and names the field that is wrong, for example:
              space.json: heads[1]: must divide embed 64, got 3

            Examples:
              edgenas sample --space spaces/fmnist-mbconv.json --seed 1 --count 5
              edgenas sample --space my-space.yaml --seed 42 > candidates.jsonl
            """)

    @Option(help: ArgumentHelp("The search-space file (edgenas.space/1, JSON or YAML).", valueName: "SPACE"))
    var space: String

    @Option(help: ArgumentHelp("Seed of the random stream.", valueName: "N"))
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("How many architectures to print.", valueName: "K"))
    var count: Int = 1

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count)") }
    }

    func run() throws {
        let path = space
        let searchSpace = try exitOnBadInput { try SearchSpace(contentsOf: URL(fileURLWithPath: path)) }
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<count {
            print(searchSpace.sample(using: &generator).canonicalJSON)
        }
    }
}

/// Runs `load`; an ``ArchitectureError`` is printed on standard error and the command
/// exits with status 64 (EX_USAGE, bad input), as argument errors do.
private func exitOnBadInput<Value>(_ load: () throws -> Value) throws -> Value {
    do {
        return try load()
    } catch let error as ArchitectureError {
        FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
        throw ExitCode(64)
    }
}
