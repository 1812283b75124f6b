import Dispatch

/// Independent runs of the engine side by side: `runners` at once, each with its own
/// `threadsPerRunner` kernel workers (``Compute/withThreads(_:_:)``).
///
/// Small networks at probe batch sizes do not split well over two cores (per-op fixed costs
/// dominate), while two candidates always can run side by side. A run's results depend only
/// on its own thread count, so N runners give exactly what one runner gives with the same
/// count per run.
public struct ConcurrentRuns: Sendable, Equatable {
    /// Runs at once (at least 1).
    public let runners: Int
    /// Kernel workers of each run; nil keeps the caller's count.
    public let threadsPerRunner: Int?

    public init(runners: Int = 1, threadsPerRunner: Int? = nil) {
        self.runners = max(1, runners)
        self.threadsPerRunner = threadsPerRunner.map { max(1, $0) }
    }

    /// One run at a time on the caller's threads: a plain loop.
    public static let sequential = ConcurrentRuns()

    /// Every engine thread in use at once: `runners` × the threads of each.
    public var totalThreads: Int { runners * (threadsPerRunner ?? Compute.threadCount) }

    /// Runs `body` with the thread count of one run.
    public func asOneRun<Result>(_ body: () throws -> Result) rethrows -> Result {
        guard let threadsPerRunner else { return try body() }
        return try Compute.withThreads(threadsPerRunner, body)
    }

    /// Runs `work` for every index of `0..<count`.
    ///
    /// Indices are handed out in order. `prepare` runs just before an index's work and
    /// `finish` just after it, both one call at a time (in hand-out and completion order),
    /// so they may update the caller's state; `work` runs concurrently and must only read
    /// shared state. With one runner this is a plain loop on the caller's thread.
    ///
    /// The first error thrown by any of the three stops the hand-out; runs in flight finish
    /// (their `finish` still runs), and the error of the lowest index is rethrown.
    public func forEach<Setting, Result>(_ count: Int, prepare: (Int) throws -> Setting,
                                         work: (Int, Setting) throws -> Result,
                                         finish: (Int, Result) throws -> Void) throws {
        guard count > 0 else { return }
        if runners == 1 {
            try asOneRun {
                for index in 0..<count { try finish(index, try work(index, try prepare(index))) }
            }
            return
        }
        let shared = HandOut()
        try withoutActuallyEscaping(prepare) { prepare in
            try withoutActuallyEscaping(work) { work in
                try withoutActuallyEscaping(finish) { finish in
                    let body = UnsafeSendable((prepare, work, finish))
                    // Task-locals do not cross into Dispatch's threads: the caller's matrix
                    // precision is bound again on each runner.
                    let precision = Compute.matrixPrecision
                    DispatchQueue.concurrentPerform(iterations: min(runners, count)) { _ in
                        Compute.$scopedMatrixPrecision.withValue(precision) { asOneRun {
                            while true {
                                let claimed: (Int, Setting)? = shared.serialized {
                                    guard shared.failure == nil, shared.next < count else { return nil }
                                    let index = shared.next
                                    shared.next += 1
                                    do { return (index, try body.value.0(index)) } catch {
                                        shared.record(index, error)
                                        return nil
                                    }
                                }
                                guard let (index, setting) = claimed else { return }
                                do {
                                    let result = try body.value.1(index, setting)
                                    try shared.serialized { try body.value.2(index, result) }
                                } catch {
                                    shared.serialized { shared.record(index, error) }
                                }
                            }
                        } }
                    }
                    if let failure = shared.failure { throw failure.error }
                }
            }
        }
    }

    /// `work` for every index of `0..<count`, in index order (see ``forEach(_:prepare:work:finish:)``).
    public func map<Result>(_ count: Int, _ work: (Int) throws -> Result) throws -> [Result] {
        var results = [Result?](repeating: nil, count: count)
        try forEach(count, prepare: { _ in () }, work: { index, _ in try work(index) }, finish: { results[$0] = $1 })
        return results.map { $0! }
    }
}

/// The hand-out state of ``ConcurrentRuns/forEach(_:prepare:work:finish:)``, read and
/// written only under its lock.
private final class HandOut: @unchecked Sendable {
    private let lock = DispatchSemaphore(value: 1)
    var next = 0
    var failure: (index: Int, error: any Error)?

    func serialized<T>(_ body: () throws -> T) rethrows -> T {
        lock.wait()
        defer { lock.signal() }
        return try body()
    }

    /// Keeps the error of the lowest index (call under the lock).
    func record(_ index: Int, _ error: any Error) {
        if failure == nil || index < failure!.index { failure = (index, error) }
    }
}
