import COpenBLAS

/// Linear least squares through LAPACK's `dgelsd` (SVD-based, so rank-deficient designs give
/// the minimum-norm solution instead of failing).
public enum LeastSquares {
    /// Why a least-squares problem could not be solved.
    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public init(message: String) { self.message = message }
        public var description: String { message }
    }

    /// The coefficients β minimising ‖Xβ − y‖₂.
    ///
    /// - Parameters:
    ///   - design: the rows of X, each of the same length (the number of coefficients).
    ///   - targets: y, one value per row.
    /// - Returns: β, one value per column of X.
    /// - Throws: ``Failure`` when the sizes disagree, a value is not finite, or the SVD does
    ///   not converge.
    public static func solve(design: [[Double]], targets: [Double]) throws -> [Double] {
        let rows = design.count
        guard rows > 0, rows == targets.count else {
            throw Failure(message: "least squares: \(rows) design rows vs \(targets.count) targets")
        }
        let columns = design[0].count
        guard columns > 0, design.allSatisfy({ $0.count == columns }) else {
            throw Failure(message: "least squares: design rows must all have \(columns) > 0 columns")
        }
        guard design.allSatisfy({ $0.allSatisfy(\.isFinite) }), targets.allSatisfy(\.isFinite) else {
            throw Failure(message: "least squares: the design or the targets hold a non-finite value")
        }
        // LAPACK is column-major; b must hold max(rows, columns) values.
        var matrix = [Double](repeating: 0, count: rows * columns)
        for row in 0..<rows { for column in 0..<columns { matrix[column * rows + row] = design[row][column] } }
        let leading = max(rows, columns)
        var rightHandSide = [Double](repeating: 0, count: leading)
        for row in 0..<rows { rightHandSide[row] = targets[row] }
        var singularValues = [Double](repeating: 0, count: min(rows, columns))
        var m = Int32(rows), n = Int32(columns), nrhs: Int32 = 1, lda = Int32(rows), ldb = Int32(leading)
        var rcond = -1.0, rank: Int32 = 0, info: Int32 = 0
        // Workspace query first (lwork = -1), then the solve.
        var workSize = 0.0, lwork: Int32 = -1, integerWorkSize: Int32 = 0
        dgelsd_(&m, &n, &nrhs, &matrix, &lda, &rightHandSide, &ldb, &singularValues, &rcond, &rank,
                &workSize, &lwork, &integerWorkSize, &info)
        guard info == 0 else { throw Failure(message: "least squares: workspace query failed (info \(info))") }
        lwork = Int32(workSize)
        var work = [Double](repeating: 0, count: max(1, Int(workSize)))
        var integerWork = [Int32](repeating: 0, count: max(1, Int(integerWorkSize)))
        dgelsd_(&m, &n, &nrhs, &matrix, &lda, &rightHandSide, &ldb, &singularValues, &rcond, &rank,
                &work, &lwork, &integerWork, &info)
        guard info == 0 else {
            throw Failure(message: "least squares: the SVD did not converge (dgelsd info \(info))")
        }
        return Array(rightHandSide.prefix(columns))
    }
}
