extension Duration {
    /// The duration in seconds as a Double (one conversion for every module that times work).
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
