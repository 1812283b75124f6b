import EdgeNASDecoderChecks
import Foundation
import Testing

/// Every file of the checked-in fuzz corpus (seeds, and the reproducers of every crash the
/// fuzzers found) goes through the decoder its folder names, exactly as the fuzz target
/// runs it: it decodes into a value that keeps the invariants, or is refused with the
/// decoder's own error. A trap here fails the whole run, as it would for a user.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let corpus = Bundle.module.resourceURL!.appendingPathComponent("Corpus", isDirectory: true)

    @Test("every corpus file decodes or is refused cleanly", arguments: DecoderCheck.allCases)
    func replay(_ decoder: DecoderCheck) throws {
        let folder = Self.corpus.appendingPathComponent(decoder.rawValue, isDirectory: true)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names.count >= 10, "\(decoder.rawValue): the corpus has only \(names.count) files")
        var decoded = 0
        for name in names {
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            do {
                if try decoder.run(data) == .decoded { decoded += 1 }
            } catch {
                Issue.record("\(decoder.rawValue)/\(name): \(error)")
            }
        }
        // Seeds include valid documents, so the happy path is replayed too.
        #expect(decoded > 0, "\(decoder.rawValue): no corpus file decoded")
    }
}
