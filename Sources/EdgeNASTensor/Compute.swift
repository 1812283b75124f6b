import CEdgeKernels
import COpenBLAS
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Settings of the compute engine.
///
/// The engine parallelises its own kernels (per image, per channel, per row block of a
/// matrix product) over `threadCount` workers and keeps OpenBLAS itself single-threaded:
/// OpenBLAS threads busy-wait, and stacking them on top of our workers on a 2-core board
/// only makes both slower.
///
/// The worker count is not process state: a run scopes it with ``withThreads(_:_:)``, so
/// two candidates scored side by side can each have their own, and nothing a library call
/// does (timing a device, a test) changes another run's setting.
public enum Compute {
    /// The count bound by the innermost `withThreads` on this thread or task.
    @TaskLocal static var scopedThreadCount: Int?

    /// Number of worker threads the engine's kernels use here (at least 1): the innermost
    /// ``withThreads(_:_:)`` around the caller, else every processor of the machine.
    ///
    /// Results can differ in the last bits between thread counts (partial sums are added in
    /// a different order); with one count they are the same on every run.
    public static var threadCount: Int {
        _ = processSetUp
        return scopedThreadCount ?? defaultThreadCount
    }

    /// Runs `body` with the engine's kernels on `count` workers (at least 1).
    public static func withThreads<Result>(_ count: Int, _ body: () throws -> Result) rethrows -> Result {
        try $scopedThreadCount.withValue(max(1, count)) { try body() }
    }

    /// Runs one kernel worker's share on a pool thread, single-threaded (a kernel's workers
    /// do not split their share again, whatever the pool thread last ran), with the
    /// matrix precision of the run that forked it.
    @usableFromInline
    static func asKernelWorker(precision: MatrixPrecision, _ body: () -> Void) {
        $scopedThreadCount.withValue(1) { $scopedMatrixPrecision.withValue(precision) { body() } }
    }

    /// The precision bound by the innermost `withMatrixPrecision` on this thread or task.
    @TaskLocal static var scopedMatrixPrecision: MatrixPrecision = .float32

    /// The inputs' precision of the engine's large matrix products here: float32 unless the
    /// caller chose bfloat16 with ``withMatrixPrecision(_:_:)``.
    public static var matrixPrecision: MatrixPrecision { scopedMatrixPrecision }

    /// Runs `body` with the engine's large matrix products at `precision`. Throws, before
    /// running anything, when bfloat16 is asked for and this machine cannot run it at speed.
    public static func withMatrixPrecision<Result>(_ precision: MatrixPrecision,
                                                   _ body: () throws -> Result) throws -> Result {
        if precision == .bfloat16, let reason = MatrixPrecision.bfloat16Unavailability { throw reason }
        return try $scopedMatrixPrecision.withValue(precision) { try body() }
    }

    /// The processor count of this machine (read once: glibc reads it from /sys on every call).
    public static let defaultThreadCount: Int = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    /// The settings every run shares, made once: OpenBLAS single-threaded, large blocks kept in the heap.
    private static let processSetUp: Void = {
        openblas_set_num_threads(1)
        edgenas_keep_large_blocks_in_heap()
    }()

    /// The OpenBLAS kernel family chosen at run time (e.g. "Haswell", "Zen", "SkylakeX").
    public static var blasCoreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}

/// Lets kernels hand raw buffers to worker closures; the kernels guarantee that workers
/// write disjoint ranges.
@usableFromInline
struct UnsafeSendable<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @inlinable init(_ value: Value) { self.value = value }
}

/// Runs `body` over `0..<count` split into contiguous chunks, one per worker.
///
/// Work smaller than `minimumPerChunk` items per worker runs inline on the caller's
/// thread: dispatch costs a few microseconds, more than a small kernel.
@inlinable
func parallelChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let workers = min(Compute.threadCount, max(1, count / max(1, minimumPerChunk)))
    if workers <= 1 {
        body(0..<count)
        return
    }
    forkJoin(workers) { worker in
        let start = count * worker / workers
        let end = count * (worker + 1) / workers
        if start < end { body(start..<end) }
    }
}

/// Runs `body(0) … body(iterations − 1)` side by side, each single-threaded (a kernel's
/// workers do not split their share again), and returns when all have finished.
///
/// On the kernel worker pool, whose threads spin between the forks of a step instead of
/// being woken for each; through Dispatch when the pool is busy with another run's kernel.
@usableFromInline
func forkJoin(_ iterations: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { escapableBody in
        let job = PoolJob(escapableBody, precision: Compute.matrixPrecision)
        let ranOnPool = withExtendedLifetime(job) {
            edgenas_pool_run(iterations, { context, index in
                let job = Unmanaged<PoolJob>.fromOpaque(context!).takeUnretainedValue()
                Compute.asKernelWorker(precision: job.precision) { job.body(index) }
            }, Unmanaged.passUnretained(job).toOpaque()) != 0
        }
        if !ranOnPool {
            DispatchQueue.concurrentPerform(iterations: iterations) { index in
                Compute.asKernelWorker(precision: job.precision) { job.body(index) }
            }
        }
    }
}

/// A fork's body, handed to the pool's threads as an opaque pointer.
@usableFromInline
final class PoolJob: @unchecked Sendable {
    let body: (Int) -> Void
    /// The forking run's setting, re-bound on the workers (task-locals do not cross threads).
    let precision: MatrixPrecision
    init(_ body: @escaping (Int) -> Void, precision: MatrixPrecision) {
        self.body = body
        self.precision = precision
    }
}

/// Like `parallelChunks`, but each worker also gets its index (for per-worker scratch).
/// `maximumWorkers` bounds the worker indices, for callers that size per-worker buffers.
@inlinable
func parallelWorkers(_ count: Int, minimumPerChunk: Int = 1, maximumWorkers: Int,
                     _ body: (_ worker: Int, _ range: Range<Int>) -> Void) -> Int {
    guard count > 0 else { return 0 }
    let workers = min(maximumWorkers, max(1, count / max(1, minimumPerChunk)))
    if workers <= 1 {
        body(0, 0..<count)
        return 1
    }
    forkJoin(workers) { worker in
        body(worker, count * worker / workers..<count * (worker + 1) / workers)
    }
    return workers
}

/// Floating-point operations below which a matrix product runs on one worker: splitting
/// costs a dispatch and a second packing of the shared operand.
@usableFromInline
let gemmSplitThreshold = 2_000_000

/// Runs `body` over row blocks of `rows` rows, one block per worker when the work
/// (`flopsPerRow` each) is big enough to split, else inline. For products whose rows are
/// independent and that do per-row work of their own around the GEMM (a linear layer's bias
/// fill): each block calls `gemm(…, parallel: false)` on its rows.
@inlinable
func parallelRowBlocks(_ rows: Int, flopsPerRow: Int, _ body: (Range<Int>) -> Void) {
    if rows * flopsPerRow < gemmSplitThreshold {
        body(0..<rows)
    } else {
        parallelChunks(rows, minimumPerChunk: 16, body)
    }
}

/// C += op(A) · op(B) with the depth k split across workers, each summing its share into a
/// private C (worker 0 into C itself) added together at the end.
///
/// For weight gradients (k = the batch's rows, m × n = the weight): splitting m or n instead
/// would make every worker pack the whole of the other k-long operand.
func accumulatingGemmSplittingDepth(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                    c: UnsafeMutablePointer<Float>, ldc: Int) {
    let threads = Compute.threadCount
    let workers = min(threads, max(1, k / 64))
    if workers <= 1 || 2 * m * n * k < gemmSplitThreshold {
        gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
             beta: 1, c: c, ldc: ldc, parallel: false)
        return
    }
    var partials = [Float](unsafeUninitializedCapacity: (workers - 1) * m * n) { _, initialized in
        initialized = (workers - 1) * m * n
    }
    partials.withUnsafeMutableBufferPointer { partialBuffer in
        let (a, b, c, partial) = (UnsafeSendable(a), UnsafeSendable(b), UnsafeSendable(c),
                                  UnsafeSendable(partialBuffer.baseAddress))
        let used = parallelWorkers(k, maximumWorkers: workers) { worker, depth in
            // Row d of op(A)'s columns: A is k×m when transposed (row d at d·lda), m×k otherwise.
            let aStart = transposeA ? a.value + depth.lowerBound * lda : a.value + depth.lowerBound
            let bStart = transposeB ? b.value + depth.lowerBound : b.value + depth.lowerBound * ldb
            if worker == 0 {
                gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: depth.count, a: aStart, lda: lda,
                     b: bStart, ldb: ldb, beta: 1, c: c.value, ldc: ldc, parallel: false)
            } else {
                gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: depth.count, a: aStart, lda: lda,
                     b: bStart, ldb: ldb, beta: 0, c: partial.value! + (worker - 1) * m * n, ldc: n, parallel: false)
            }
        }
        for worker in 1..<used {
            let source = partialBuffer.baseAddress! + (worker - 1) * m * n
            for row in 0..<m {
                cblas_saxpy(Int32(n), 1, source + row * n, 1, c.value + row * ldc, 1)
            }
        }
    }
}

/// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, with op(X) = X or Xᵀ.
///
/// `m`, `n`, `k` are the sizes of op(A) [m×k], op(B) [k×n] and C [m×n]. Splits the larger
/// of `m` and `n` across workers when the product is big enough to pay for it.
@usableFromInline
func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
          a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
          beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool = true) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS would still scale C by beta; keep the same meaning.
        for row in 0..<m {
            for column in 0..<n { c[row * ldc + column] *= beta }
        }
        return
    }
    let flops = 2 * m * n * k
    let workers = parallel ? Compute.threadCount : 1
    if workers <= 1 || flops < gemmSplitThreshold {
        singleThreadedProduct(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                              a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let splitRows = m >= n
    let a = UnsafeSendable(a), b = UnsafeSendable(b), c = UnsafeSendable(c)
    parallelChunks(splitRows ? m : n, minimumPerChunk: 16) { range in
        if splitRows {
            // Rows of op(A): row r starts at r*lda when not transposed, at column r when transposed.
            let aStart = transposeA ? a.value + range.lowerBound : a.value + range.lowerBound * lda
            singleThreadedProduct(transposeA: transposeA, transposeB: transposeB, m: range.count, n: n, k: k,
                                  alpha: alpha, a: aStart, lda: lda, b: b.value, ldb: ldb, beta: beta,
                                  c: c.value + range.lowerBound * ldc, ldc: ldc)
        } else {
            let bStart = transposeB ? b.value + range.lowerBound * ldb : b.value + range.lowerBound
            singleThreadedProduct(transposeA: transposeA, transposeB: transposeB, m: m, n: range.count, k: k,
                                  alpha: alpha, a: a.value, lda: lda, b: bStart, ldb: ldb, beta: beta,
                                  c: c.value + range.lowerBound, ldc: ldc)
        }
    }
}
