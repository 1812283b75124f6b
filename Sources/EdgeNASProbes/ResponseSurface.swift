import EdgeNASTensor

/// A point of the (D, E) plane: training samples per probe and epochs.
public struct BudgetPoint: Sendable, Codable, Equatable {
    public var dataVolume: Double
    public var epochs: Double
    public init(dataVolume: Double, epochs: Double) {
        self.dataVolume = dataVolume
        self.epochs = epochs
    }
}

/// The rectangle of (D, E) the anchors span; optima outside it are extrapolations.
public struct BudgetRange: Sendable, Codable, Equatable {
    public var dataVolume: ClosedRange<Double>
    public var epochs: ClosedRange<Double>
    public init(dataVolume: ClosedRange<Double>, epochs: ClosedRange<Double>) {
        self.dataVolume = dataVolume
        self.epochs = epochs
    }
    func contains(_ point: BudgetPoint, tolerance: Double = 1e-9) -> Bool {
        point.dataVolume >= dataVolume.lowerBound - tolerance && point.dataVolume <= dataVolume.upperBound + tolerance
            && point.epochs >= epochs.lowerBound - tolerance && point.epochs <= epochs.upperBound + tolerance
    }
}

/// The quadratic reliability surface S(D, E) = b0 + b1·D + b2·E + b3·D² + b4·E² + b5·D·E.
public struct ResponseSurface: Sendable, Codable, Equatable {
    /// b0 … b5 in the order of the formula, D in samples and E in epochs.
    public var coefficients: [Double]
    /// Coefficient of determination of the fit on its anchors (1 − SS_res / SS_tot).
    public var rSquared: Double

    public init(coefficients: [Double], rSquared: Double = 1) {
        precondition(coefficients.count == 6, "ResponseSurface: 6 coefficients, got \(coefficients.count)")
        self.coefficients = coefficients
        self.rSquared = rSquared
    }

    static func features(_ point: BudgetPoint) -> [Double] {
        let (d, e) = (point.dataVolume, point.epochs)
        return [1, d, e, d * d, e * e, d * e]
    }

    /// Least-squares fit (LAPACK dgelsd) of the surface to measured reliabilities.
    /// - Throws: `LeastSquares.Failure` when fewer than 6 points are given or LAPACK fails.
    public static func fit(points: [BudgetPoint], values: [Double]) throws -> ResponseSurface {
        guard points.count >= 6, points.count == values.count else {
            throw LeastSquares.Failure(message: "response surface: 6 coefficients need at least 6 anchors, got \(points.count)")
        }
        let coefficients = try LeastSquares.solve(design: points.map(features), targets: values)
        var surface = ResponseSurface(coefficients: coefficients)
        let mean = values.reduce(0, +) / Double(values.count)
        let total = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        let residual = zip(points, values).reduce(0.0) { $0 + ($1.1 - surface.value($1.0)) * ($1.1 - surface.value($1.0)) }
        surface.rSquared = total > 0 ? 1 - residual / total : 1
        return surface
    }

    /// S at `point`.
    public func value(_ point: BudgetPoint) -> Double {
        zip(coefficients, Self.features(point)).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// Whether the Hessian [[2b3, b5], [b5, 2b4]] is negative definite (one interior maximum).
    public var isConcave: Bool {
        let (b3, b4, b5) = (coefficients[3], coefficients[4], coefficients[5])
        return b3 < 0 && 4 * b3 * b4 - b5 * b5 > 0
    }

    /// The maximum of S on the line t_d·D + t_e·E = budget, from the Lagrange conditions
    /// ∇S = λ·(t_d, t_e): a 3 × 3 linear system in (D, E, λ). When the unconstrained maximum is
    /// already cheaper than the budget (λ < 0) it is returned instead.
    ///
    /// - Returns: nil when the surface is not concave or the solution leaves `range`, the cases
    ///   where the caller falls back to a grid search.
    public func lagrangeOptimum(secondsPerSample: Double, secondsPerEpoch: Double, budgetSeconds: Double,
                                range: BudgetRange) -> BudgetPoint? {
        guard isConcave else { return nil }
        let (b1, b2, b3, b4, b5) = (coefficients[1], coefficients[2], coefficients[3], coefficients[4], coefficients[5])
        let (td, te) = (secondsPerSample, secondsPerEpoch)
        // Unconstrained stationary point: [2b3 b5; b5 2b4]·(D, E) = −(b1, b2).
        let determinant = 4 * b3 * b4 - b5 * b5
        let free = BudgetPoint(dataVolume: (-b1 * 2 * b4 + b2 * b5) / determinant,
                               epochs: (-2 * b3 * b2 + b5 * b1) / determinant)
        if td * free.dataVolume + te * free.epochs <= budgetSeconds {
            return range.contains(free) ? free : nil
        }
        guard let solution = solve3x3([[2 * b3, b5, -td], [b5, 2 * b4, -te], [td, te, 0]], [-b1, -b2, budgetSeconds]) else {
            return nil
        }
        let point = BudgetPoint(dataVolume: solution[0], epochs: solution[1])
        return range.contains(point) ? point : nil
    }

    /// The best point of a `steps` × `steps` grid over `range` whose cost is within budget
    /// (the fallback when the surface is not concave or its optimum leaves the range).
    public func bestFeasiblePoint(range: BudgetRange, budgetSeconds: Double, steps: Int = 400,
                                  cost: (BudgetPoint) -> Double) -> BudgetPoint? {
        var best: (point: BudgetPoint, value: Double)?
        for i in 0...steps {
            let d = range.dataVolume.lowerBound + (range.dataVolume.upperBound - range.dataVolume.lowerBound) * Double(i) / Double(steps)
            for j in 0...steps {
                let e = range.epochs.lowerBound + (range.epochs.upperBound - range.epochs.lowerBound) * Double(j) / Double(steps)
                let point = BudgetPoint(dataVolume: d, epochs: e)
                guard cost(point) <= budgetSeconds else { continue }
                let value = value(point)
                if best == nil || value > best!.value { best = (point, value) }
            }
        }
        return best?.point
    }
}

/// Gaussian elimination with partial pivoting; nil for a singular system.
func solve3x3(_ matrix: [[Double]], _ rightHandSide: [Double]) -> [Double]? {
    var a = matrix, b = rightHandSide
    let n = b.count
    for column in 0..<n {
        let pivot = (column..<n).max { abs(a[$0][column]) < abs(a[$1][column]) }!
        guard abs(a[pivot][column]) > 1e-300 else { return nil }
        a.swapAt(column, pivot)
        b.swapAt(column, pivot)
        for row in (column + 1)..<n {
            let factor = a[row][column] / a[column][column]
            for k in column..<n { a[row][k] -= factor * a[column][k] }
            b[row] -= factor * b[column]
        }
    }
    var x = [Double](repeating: 0, count: n)
    for row in stride(from: n - 1, through: 0, by: -1) {
        var sum = b[row]
        for k in (row + 1)..<n { sum -= a[row][k] * x[k] }
        x[row] = sum / a[row][row]
    }
    return x
}
