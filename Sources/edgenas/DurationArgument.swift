import ArgumentParser

/// A time budget on the command line: `20m`, `90s`, `1h`, `1h30m`, or plain seconds (`600`).
struct DurationArgument: ExpressibleByArgument, CustomStringConvertible, Sendable {
    let seconds: Double

    init(seconds: Double) { self.seconds = seconds }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        if let plain = Double(text) {
            guard plain > 0, plain.isFinite else { return nil }
            seconds = plain
            return
        }
        var total = 0.0, number = ""
        for character in text {
            if character.isNumber || character == "." { number.append(character); continue }
            let unit: Double
            switch character {
            case "h": unit = 3600
            case "m": unit = 60
            case "s": unit = 1
            default: return nil
            }
            guard let value = Double(number) else { return nil }
            total += value * unit
            number = ""
        }
        guard number.isEmpty, total > 0 else { return nil }
        seconds = total
    }

    var description: String {
        let whole = Int(seconds.rounded())
        if whole % 60 != 0 || whole == 0 { return "\(whole)s" }
        return whole % 3600 == 0 ? "\(whole / 3600)h" : "\(whole / 60)m"
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
