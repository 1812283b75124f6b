import EdgeNASTensor
import Foundation
import Testing
import TestSupport

/// Runs `body` with a fresh, empty directory that is removed afterwards.
func withTemporaryDirectory<Result>(_ body: (URL) throws -> Result) throws -> Result {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("edgenas-tensor-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Checkpoint bytes written by hand, for files whose checksum is right but whose contents are not.
enum CheckpointBytes {
    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    /// One stored tensor: name length, name, rank, sizes, float32 values.
    static func entry(_ name: String, shape: [Int], values: [Float]) -> [UInt8] {
        littleEndian(UInt32(name.utf8.count)) + Array(name.utf8) + littleEndian(UInt32(shape.count))
            + shape.flatMap { littleEndian(UInt64($0)) } + values.flatMap { littleEndian($0.bitPattern) }
    }

    /// Header (magic, `version`, `declaredCount`), `entries`, and the checksum of all that.
    static func file(version: UInt32 = 1, declaredCount: UInt32, entries: [UInt8]) -> [UInt8] {
        let body = Array("EDGENAS-CKPT".utf8) + littleEndian(version) + littleEndian(declaredCount) + entries
        return body + littleEndian(fnv1a(body))
    }
}

extension TensorEngineTests {
    @Suite struct CheckpointTests {
        @Test func namedTensorsRoundTripBitExactly() throws {
            let unusual: [Float] = [-0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, -.infinity,
                                    Float(nan: 0x1234, signaling: false), 1 / 3]
            let tensors: [(name: String, tensor: Tensor)] = [
                ("stages.0.blocks.1.depthwise.weight", randomTensor([2, 1, 3, 3], seed: 191, requiresGradient: false)),
                ("unusual values", Tensor(shape: [7], storage: unusual)),
                ("scalar", Tensor.scalar(42)),
                ("empty", Tensor.zeros([3, 0])),
                ("naïve.名前", Tensor.full([1, 2], -1.5)),
            ]
            let entries = try withTemporaryDirectory { directory in
                let url = directory.appendingPathComponent("model.ckpt")
                try Checkpoint.save(tensors, to: url)
                return try Checkpoint.load(from: url)
            }
            #expect(entries.map(\.name) == tensors.map(\.name))
            for (entry, original) in zip(entries, tensors) {
                #expect(entry.shape == original.tensor.shape, "\(entry.name)")
                #expect(entry.values.map(\.bitPattern) == original.tensor.storage.map(\.bitPattern), "\(entry.name) bits")
            }
        }

        @Test func restoreLoadsEveryParameterAndBufferOfAModule() throws {
            let source = ConvolutionBlock(channels: 2, seed: 192)
            randomize(source.normalization.bias, seed: 193)
            randomize(source.normalization.runningMean, seed: 194)
            randomize(source.normalization.runningVariance, seed: 195, low: 0.5, high: 2)
            let target = ConvolutionBlock(channels: 2, seed: 196)
            try withTemporaryDirectory { directory in
                let url = directory.appendingPathComponent("block.ckpt")
                try Checkpoint.save(source.namedState(), to: url)
                try Checkpoint.restore(target, from: url)
            }
            for (restored, original) in zip(target.namedState(), source.namedState()) {
                #expect(restored.tensor.storage.map(\.bitPattern) == original.tensor.storage.map(\.bitPattern),
                        "\(restored.name) restored bit-exactly")
            }
            source.setTrainingMode(false)
            target.setTrainingMode(false)
            let x = randomTensor([1, 2, 4, 4], seed: 197, requiresGradient: false)
            #expect(target(x).storage == source(x).storage, "restored block computes what the saved one did")
        }

        /// A checkpoint that does not fit `ConvolutionBlock(channels: 2)`, and the message after the path.
        struct MismatchCase: Sendable, CustomTestStringConvertible {
            let name: String
            let stored: [(name: String, shape: [Int])]
            let message: String
            var testDescription: String { name }
        }

        static let fittingState: [(name: String, shape: [Int])] = [
            ("conv.weight", [2, 1, 3, 3]), ("norm.weight", [2]), ("norm.bias", [2]),
            ("norm.running_mean", [2]), ("norm.running_var", [2]),
        ]

        static let mismatchCases = [
            MismatchCase(name: "missing", stored: fittingState.filter { $0.name != "norm.bias" },
                         message: "checkpoint does not fit the architecture: missing norm.bias"),
            MismatchCase(name: "unexpected", stored: fittingState + [("head.weight", [5])],
                         message: "checkpoint does not fit the architecture: unexpected head.weight"),
            MismatchCase(name: "mis-shaped",
                         stored: fittingState.map { $0.name == "conv.weight" ? ($0.name, [3, 1, 3, 3]) : $0 },
                         message: "checkpoint does not fit the architecture: mis-shaped conv.weight " +
                             "(checkpoint [3, 1, 3, 3], model [2, 1, 3, 3])"),
            MismatchCase(name: "all three",
                         stored: [("conv.weight", [2, 1, 5, 5]), ("norm.weight", [2]), ("norm.running_mean", [2]),
                                  ("head.weight", [5]), ("head.bias", [5])],
                         message: "checkpoint does not fit the architecture: missing norm.bias, norm.running_var; " +
                             "unexpected head.weight, head.bias; " +
                             "mis-shaped conv.weight (checkpoint [2, 1, 5, 5], model [2, 1, 3, 3])"),
        ]

        @Test(arguments: mismatchCases)
        func restoreRejectsACheckpointThatDoesNotFitAndChangesNothing(_ mismatch: MismatchCase) throws {
            let block = ConvolutionBlock(channels: 2, seed: 198)
            let before = block.namedState().map { $0.tensor.storage }
            try withTemporaryDirectory { directory in
                let url = directory.appendingPathComponent("other.ckpt")
                let stored = mismatch.stored.map { (name: $0.name, tensor: Tensor.full($0.shape, 7)) }
                try Checkpoint.save(stored, to: url)
                let error = #expect(throws: CheckpointError.self) { try Checkpoint.restore(block, from: url) }
                #expect(error?.description == "\(url.path): \(mismatch.message)")
            }
            #expect(block.namedState().map { $0.tensor.storage } == before, "a failed restore changes nothing")
        }

        /// A file that `load` must refuse, made from a valid checkpoint's bytes (nil: no file).
        struct LoadErrorCase: Sendable, CustomTestStringConvertible {
            let name: String
            let bytes: @Sendable (_ valid: [UInt8]) -> [UInt8]?
            let message: String
            var testDescription: String { name }
        }

        static let corruptSuffix = "; re-create it with `edgenas train`"

        static let loadErrorCases = [
            LoadErrorCase(name: "missing file", bytes: { _ in nil },
                          message: "cannot read checkpoint: The operation could not be completed. The file doesn’t exist."),
            LoadErrorCase(name: "empty file", bytes: { _ in [] },
                          message: "not an EdgeNAS checkpoint (no EDGENAS-CKPT header)"),
            LoadErrorCase(name: "not a checkpoint", bytes: { _ in Array("PK\u{3}\u{4} a zip archive, not a checkpoint".utf8) },
                          message: "not an EdgeNAS checkpoint (no EDGENAS-CKPT header)"),
            LoadErrorCase(name: "truncated to half", bytes: { Array($0.prefix($0.count / 2)) },
                          message: "corrupt checkpoint: checksum mismatch" + corruptSuffix),
            LoadErrorCase(name: "last value byte cut off", bytes: { Array($0.dropLast(9)) + $0.suffix(8) },
                          message: "corrupt checkpoint: checksum mismatch" + corruptSuffix),
            LoadErrorCase(name: "one value byte flipped", bytes: { valid in
                var bytes = valid
                bytes[bytes.count - 12] ^= 0x01
                return bytes
            }, message: "corrupt checkpoint: checksum mismatch" + corruptSuffix),
            LoadErrorCase(name: "checksum byte flipped", bytes: { valid in
                var bytes = valid
                bytes[bytes.count - 1] ^= 0x80
                return bytes
            }, message: "corrupt checkpoint: checksum mismatch" + corruptSuffix),
            LoadErrorCase(name: "more tensors declared than stored", bytes: { _ in
                // 12 magic + 4 version + 4 count + 25 for the entry: the second name length is read at byte 45.
                CheckpointBytes.file(declaredCount: 2, entries: CheckpointBytes.entry("w", shape: [2], values: [1, 2]))
            }, message: "corrupt checkpoint: truncated at byte 45" + corruptSuffix),
            LoadErrorCase(name: "fewer tensors declared than stored", bytes: { _ in
                CheckpointBytes.file(declaredCount: 0, entries: CheckpointBytes.entry("w", shape: [2], values: [1, 2]))
            }, message: "corrupt checkpoint: 25 unexpected trailing bytes" + corruptSuffix),
            LoadErrorCase(name: "future version", bytes: { _ in
                CheckpointBytes.file(version: 2, declaredCount: 0, entries: [])
            }, message: "corrupt checkpoint: version 2, this build reads version 1" + corruptSuffix),
        ]

        @Test(arguments: loadErrorCases)
        func loadRejectsABadFileWithAMessageNamingIt(_ bad: LoadErrorCase) throws {
            try withTemporaryDirectory { directory in
                let valid = directory.appendingPathComponent("valid.ckpt")
                try Checkpoint.save([("weight", randomTensor([2, 3], seed: 199, requiresGradient: false))], to: valid)
                let url = directory.appendingPathComponent("bad.ckpt")
                if let bytes = bad.bytes([UInt8](try Data(contentsOf: valid))) {
                    try Data(bytes).write(to: url)
                }
                let error = #expect(throws: CheckpointError.self) { try Checkpoint.load(from: url) }
                #expect(error?.description == "\(url.path): \(bad.message)")
            }
        }

        @Test func handWrittenBytesMatchWhatSaveWrites() throws {
            // Guards the load-error cases above: they describe the same format that save writes.
            let expected = CheckpointBytes.file(declaredCount: 1, entries: CheckpointBytes.entry("w", shape: [2], values: [1, 2]))
            let written = try withTemporaryDirectory { directory in
                let url = directory.appendingPathComponent("w.ckpt")
                try Checkpoint.save([("w", Tensor(shape: [2], storage: [1, 2]))], to: url)
                return [UInt8](try Data(contentsOf: url))
            }
            #expect(written == expected)
        }

        @Test func saveIntoAMissingDirectoryThrowsAndLeavesNothing() throws {
            try withTemporaryDirectory { directory in
                let url = directory.appendingPathComponent("no-such-folder/model.ckpt")
                let error = #expect(throws: CheckpointError.self) {
                    try Checkpoint.save([("w", Tensor.zeros([2]))], to: url)
                }
                let missing = url.deletingLastPathComponent().path
                #expect(error == .writeFailed(path: url.path, reason: "directory \(missing) does not exist"))
                #expect(error?.description == "\(url.path): cannot write checkpoint: directory \(missing) does not exist")
                let contents = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                #expect(contents == [], "nothing is left behind, not even the missing folder")
            }
        }

        @Test func overwritingACheckpointReplacesItAndLeavesNoTemporaryFile() throws {
            try withTemporaryDirectory { directory in
                let url = directory.appendingPathComponent("model.ckpt")
                try Checkpoint.save([("w", Tensor.full([2], 1))], to: url)
                try Checkpoint.save([("w", Tensor.full([3], 2)), ("b", Tensor.zeros([1]))], to: url)
                let entries = try Checkpoint.load(from: url)
                #expect(entries == [Checkpoint.Entry(name: "w", shape: [3], values: [2, 2, 2]),
                                    Checkpoint.Entry(name: "b", shape: [1], values: [0])])
                let contents = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                #expect(contents == ["model.ckpt"], "no temporary file is left behind")
            }
        }

        /// Whatever happens to a second save, the first checkpoint must not be lost.
        @Test func aSecondSaveNeverLosesTheCheckpointAlreadyThere() throws {
            try withTemporaryDirectory { directory in
                let url = directory.appendingPathComponent("model.ckpt")
                try Checkpoint.save([("w", Tensor.full([2], 1))], to: url)
                try? Checkpoint.save([("w", Tensor.full([2], 2))], to: url)
                let entries = try? Checkpoint.load(from: url)
                let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
                #expect(entries?.first?.values == [1, 1] || entries?.first?.values == [2, 2],
                        "model.ckpt after a second save: \(String(describing: entries)), folder holds \(contents)")
            }
        }
    }
}
