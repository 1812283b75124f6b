import Foundation

/// Shows the progress of a long loop (an epoch, a profiling sweep) on standard error.
///
/// On a terminal it redraws one line in place, at most 10 times per second:
///
///     train  [████████░░░░░░░░░░░░]  24000/60000   40%  4.3k img/s  0:05 < 0:08  loss 0.612
///
/// When standard error is not a terminal (CI logs, pipes, files) it never writes `\r`; it prints
/// a plain line at every 10 % step, and at least every `logInterval` while progress is slow:
///
///     train: 24000/60000 img (40%), 4.3k img/s, elapsed 0:05, ETA 0:08, loss 0.612
///
/// Throughput is the average since creation (`done / elapsed`), and the ETA is
/// `(total − done) / throughput`. Results belong on standard output, written by the caller;
/// everything this type writes goes to standard error. Use one instance from one task.
final class ProgressBar {
    /// Where and how progress is written.
    enum Style {
        /// An interactive terminal: one line redrawn in place; `columns` is used only when
        /// the terminal's width cannot be queried.
        case terminal(columns: Int)
        /// A log: plain lines, never `\r`.
        case log
    }

    private let total: Int
    private let label: String
    private let unit: String
    private let style: Style
    private let logInterval: Duration
    private let emit: (String) -> Void
    private let elapsedSinceStart: () -> Duration

    private var done = 0
    private var extra = ""
    private var lastDrawn: Duration?
    private var lastLogged: Duration = .zero
    private var lastLoggedStep = 0
    private var isFinished = false

    /// Creates a progress display for `total` units of work, chosen for the current standard error.
    ///
    /// - Parameters:
    ///   - total: How many units the loop will process (images, batches, architectures).
    ///   - label: A short name shown first on each line, e.g. `"epoch 1"`.
    ///   - unit: The unit of `total`, used in the throughput, e.g. `"img"` gives `img/s`.
    convenience init(total: Int, label: String, unit: String) {
        let style: Style = isatty(STDERR_FILENO) == 1 ? .terminal(columns: 80) : .log
        self.init(total: total, label: label, unit: unit, style: style)
    }

    /// Creates a progress display with an explicit style, output and clock (tests inject the last two).
    ///
    /// - Parameters:
    ///   - logInterval: In ``Style/log``, the longest time between two lines while work progresses.
    ///   - emit: Receives every piece of text; by default written to standard error.
    ///   - elapsedSinceStart: The time since the work started; by default a `ContinuousClock`.
    init(
        total: Int, label: String, unit: String, style: Style, logInterval: Duration = .seconds(30),
        emit: @escaping (String) -> Void = ProgressBar.writeToStandardError,
        elapsedSinceStart: (() -> Duration)? = nil
    ) {
        precondition(total >= 0, "ProgressBar: total \(total) is negative")
        self.total = total
        self.label = label
        self.unit = unit
        self.style = style
        self.logInterval = logInterval
        self.emit = emit
        if let elapsedSinceStart {
            self.elapsedSinceStart = elapsedSinceStart
        } else {
            let start = ContinuousClock.now
            self.elapsedSinceStart = { ContinuousClock.now - start }
        }
    }

    /// Records that `done` units are complete and redraws if it is time to.
    ///
    /// - Parameters:
    ///   - done: Units completed so far, in `0...total`.
    ///   - extra: Text shown after the timings, e.g. `"loss 0.612"`; kept until the next update.
    func update(done: Int, extra: String = "") {
        guard !isFinished else { return }
        self.done = done
        self.extra = extra
        let now = elapsedSinceStart()
        switch style {
        case .terminal(let fallbackColumns):
            // Redrawing on every batch would spend more time in the terminal than in the work.
            if let lastDrawn, now - lastDrawn < .milliseconds(100), done < total { return }
            lastDrawn = now
            emit("\r" + terminalLine(elapsed: now, columns: Self.terminalColumns() ?? fallbackColumns) + "\u{1B}[K")
        case .log:
            // The last step is left to `finish`, which prints the totals.
            guard done < total else { return }
            let step = total > 0 ? done * 10 / total : 0
            guard step > lastLoggedStep || (done > 0 && now - lastLogged >= logInterval) else { return }
            lastLoggedStep = max(lastLoggedStep, step)
            lastLogged = now
            emit(logLine(elapsed: now) + "\n")
        }
    }

    /// Draws the final state and ends the line; later calls to ``update(done:extra:)`` are ignored.
    ///
    /// - Parameter message: An optional line printed after the progress line, e.g. `"epoch 1: loss 0.41"`.
    func finish(message: String? = nil) {
        guard !isFinished else { return }
        isFinished = true
        let now = elapsedSinceStart()
        switch style {
        case .terminal(let fallbackColumns):
            let line = terminalLine(elapsed: now, columns: Self.terminalColumns() ?? fallbackColumns)
            emit("\r" + line + "\u{1B}[K\n")
        case .log:
            emit(logLine(elapsed: now) + "\n")
        }
        if let message { emit(message + "\n") }
    }

    // MARK: - Formatting

    private var fraction: Double {
        total > 0 ? min(max(Double(done) / Double(total), 0), 1) : 1
    }

    private var percentText: String {
        "\(Int((fraction * 100).rounded(.down)))%"
    }

    private func unitsPerSecond(elapsed: Duration) -> Double? {
        let elapsedSeconds = seconds(elapsed)
        return elapsedSeconds > 0 && done > 0 ? Double(done) / elapsedSeconds : nil
    }

    private func rateText(elapsed: Duration) -> String {
        guard let rate = unitsPerSecond(elapsed: elapsed) else { return "– \(unit)/s" }
        return "\(Self.compactNumber(rate)) \(unit)/s"
    }

    private func remainingSeconds(elapsed: Duration) -> Double? {
        guard let rate = unitsPerSecond(elapsed: elapsed) else { return nil }
        return Double(max(total - done, 0)) / rate
    }

    private func terminalLine(elapsed: Duration, columns: Int) -> String {
        let countText = String(repeating: " ", count: max(0, String(total).count - String(done).count))
            + "\(done)/\(total)"
        let paddedPercent = String(repeating: " ", count: max(0, 4 - percentText.count)) + percentText
        var timeText = Self.clockText(seconds: seconds(elapsed))
        if done < total {
            timeText += " < " + (remainingSeconds(elapsed: elapsed).map(Self.clockText(seconds:)) ?? "?")
        }
        var tail = "  \(countText)  \(paddedPercent)  \(rateText(elapsed: elapsed))  \(timeText)"
        if !extra.isEmpty { tail += "  " + extra }

        let barWidth = min(30, max(10, columns - label.count - tail.count - 5))
        let filled = Int((fraction * Double(barWidth)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled)
        let line = "\(label)  [\(bar)]" + tail
        // A line longer than the terminal wraps, and `\r` would then only rewrite its last row.
        return line.count < columns ? line : String(line.prefix(max(columns - 1, 0)))
    }

    private func logLine(elapsed: Duration) -> String {
        var parts: [String]
        if isFinished {
            parts = [
                "\(label): \(done)/\(total) \(unit) in \(Self.clockText(seconds: seconds(elapsed)))",
                rateText(elapsed: elapsed),
            ]
        } else {
            parts = [
                "\(label): \(done)/\(total) \(unit) (\(percentText))", rateText(elapsed: elapsed),
                "elapsed \(Self.clockText(seconds: seconds(elapsed)))",
                "ETA " + (remainingSeconds(elapsed: elapsed).map(Self.clockText(seconds:)) ?? "?"),
            ]
        }
        if !extra.isEmpty { parts.append(extra) }
        return parts.joined(separator: ", ")
    }

    /// `m:ss` below an hour, `h:mm:ss` above.
    static func clockText(seconds: Double) -> String {
        let whole = Int(seconds.isFinite ? max(seconds, 0).rounded(.down) : 0)
        let (hours, minutes, secs) = (whole / 3600, whole / 60 % 60, whole % 60)
        func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return hours > 0 ? "\(hours):\(twoDigits(minutes)):\(twoDigits(secs))" : "\(minutes):\(twoDigits(secs))"
    }

    /// Three significant digits with a k/M suffix: `4.32`, `43.2`, `432`, `4.3k`, `43k`, `1.2M`.
    static func compactNumber(_ value: Double) -> String {
        func rounded(_ value: Double, decimals: Int) -> String {
            let scale = decimals == 0 ? 1.0 : decimals == 1 ? 10.0 : 100.0
            let number = (value * scale).rounded() / scale
            return decimals == 0 ? "\(Int(number))" : "\(number)"
        }
        // Boundaries sit where rounding would carry into the next digit (999.7 is "1.0k", not "1000").
        switch value {
        case 999_950...: return rounded(value / 1e6, decimals: 1) + "M"
        case 9_999.5..<999_950: return rounded(value / 1e3, decimals: 0) + "k"
        case 999.5..<9_999.5: return rounded(value / 1e3, decimals: 1) + "k"
        case 99.95..<999.5: return rounded(value, decimals: 0)
        case 9.995..<99.95: return rounded(value, decimals: 1)
        default: return rounded(value, decimals: 2)
        }
    }

    // MARK: - Terminal

    /// The width of the terminal on standard error, or `nil` when it cannot be asked.
    private static func terminalColumns() -> Int? {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// Writes all of `text` to file descriptor 2, unbuffered, so it interleaves correctly with other output.
    static func writeToStandardError(_ text: String) {
        var text = text
        text.withUTF8 { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(STDERR_FILENO, base + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return  // A closed or full stderr must not stop the work being reported.
                }
            }
        }
    }
}
