import Dispatch
@testable import EdgeNASTensor
import Synchronization
import Testing

extension TensorEngineTests {
    /// The kernels' fork-join: every iteration runs exactly once and the call returns only
    /// after all have finished, whether the pool runs them or, when it is busy with another
    /// run's fork, Dispatch does.
    @Suite struct KernelPoolTests {
        @Test(arguments: [1, 2, 3, 17, 1000])
        func everyIterationRunsExactlyOnce(iterations: Int) {
            let counts = Mutex([Int](repeating: 0, count: iterations))
            for _ in 0..<50 {
                forkJoin(iterations) { index in counts.withLock { $0[index] += 1 } }
            }
            #expect(counts.withLock { $0 } == [Int](repeating: 50, count: iterations))
        }

        @Test func forksOfSeveralRunsAtOnceEachRunEveryIteration() {
            let (runs, repeats, iterations) = (4, 300, 5)
            let counts = Mutex([[Int]](repeating: [Int](repeating: 0, count: iterations), count: runs))
            DispatchQueue.concurrentPerform(iterations: runs) { run in
                for _ in 0..<repeats {
                    forkJoin(iterations) { index in counts.withLock { $0[run][index] += 1 } }
                }
            }
            #expect(counts.withLock { $0 } == [[Int]](repeating: [Int](repeating: repeats, count: iterations), count: runs))
        }

        /// Results are visible to the caller once the fork returns (no iteration still running).
        @Test func aForkReturnsOnlyAfterItsIterationsHaveWritten() {
            var values = [Int](repeating: 0, count: 64)
            for round in 1...200 {
                values.withUnsafeMutableBufferPointer { buffer in
                    let pointer = UnsafeSendable(buffer.baseAddress!)
                    forkJoin(64) { index in pointer.value[index] = round }
                }
                #expect(values.allSatisfy { $0 == round }, "round \(round)")
            }
        }

        @Test func aForkInsideAForkCompletes() {
            let total = Mutex(0)
            forkJoin(2) { _ in
                forkJoin(3) { _ in total.withLock { $0 += 1 } }
            }
            #expect(total.withLock { $0 } == 6)
        }
    }
}
