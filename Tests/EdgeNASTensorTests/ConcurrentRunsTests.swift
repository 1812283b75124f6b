import EdgeNASTensor
import Testing
import TestSupport

extension TensorEngineTests {
    @Suite struct ConcurrentRunsTests {
        /// One small training step's output and weight gradient: a run's whole result.
        static func trainingStep(seed: UInt64) -> [Float] {
            let x = randomTensor([4, 3, 10, 10], seed: seed)
            let weight = randomTensor([8, 3, 3, 3], seed: seed &+ 1)
            let y = relu(conv2d(x, weight: weight, padding: 1))
            y.sum().backward()
            return y.storage + weight.gradient!
        }

        /// Two runners at one thread each give bit for bit what a loop at one thread gives.
        @Test func sideBySideRunsMatchALoop() throws {
            let loop = Compute.withThreads(1) { (0..<6).map { Self.trainingStep(seed: 300 + UInt64($0)) } }
            let side = try ConcurrentRuns(runners: 2, threadsPerRunner: 1).map(6) { Self.trainingStep(seed: 300 + UInt64($0)) }
            #expect(side == loop)
        }

        /// Each run has its own thread count, and `prepare`/`finish` never overlap, so they
        /// may update the caller's state without a lock.
        @Test func runsKeepTheirThreadCountAndSerializeTheirBookkeeping() throws {
            var prepared: [Int] = [], finished = 0, seenThreads = Set<Int>()
            try ConcurrentRuns(runners: 2, threadsPerRunner: 3).forEach(200, prepare: { index in
                prepared.append(index)
                return index * 2
            }, work: { index, setting in
                #expect(setting == index * 2)
                return Compute.threadCount
            }, finish: { _, threads in
                finished += 1
                seenThreads.insert(threads)
            })
            #expect(prepared == Array(0..<200))
            #expect(finished == 200)
            #expect(seenThreads == [3])
        }

        struct Failure: Error, Equatable { let index: Int }

        /// A failing run stops the hand-out: nothing after it starts once it is seen, and the
        /// lowest failing index is the error.
        @Test func theFirstErrorStopsTheHandOut() {
            for runners in [1, 2] {
                var prepared = 0
                #expect(throws: Failure(index: 3)) {
                    try ConcurrentRuns(runners: runners, threadsPerRunner: 1).forEach(100, prepare: { _ in prepared += 1 },
                                                                                      work: { index, _ in
                        if index == 3 || index == 4 { throw Failure(index: index) }
                    }, finish: { _, _ in })
                }
                #expect(prepared < 100, "runners \(runners): \(prepared) prepared")
            }
        }

        @Test func noWorkAndOneRunner() throws {
            #expect(try ConcurrentRuns(runners: 4).map(0) { $0 }.isEmpty)
            #expect(try ConcurrentRuns.sequential.map(3) { $0 * $0 } == [0, 1, 4])
            #expect(ConcurrentRuns(runners: 0, threadsPerRunner: 0) == ConcurrentRuns(runners: 1, threadsPerRunner: 1))
        }
    }
}
