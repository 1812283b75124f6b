import Foundation

/// What the machine is doing when profiling starts: timings taken on a busy machine or a
/// power-saving governor are slower and noisier, so the profiler records and warns.
public struct HostState: Sendable {
    /// `model name` from /proc/cpuinfo, or `unknown`.
    public var cpuModel: String
    /// cpu0's cpufreq scaling governor, or `unknown` where the kernel exposes none (VMs).
    public var governor: String
    /// One-minute load average from /proc/loadavg (−1 when unreadable).
    public var loadAverage1m: Double
    /// Online processors.
    public var coreCount: Int

    /// Reads the current state.
    public static func current() -> HostState {
        let loadText = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        let load = loadText.split(separator: " ").first.flatMap { Double($0) } ?? -1
        let governorText = (try? String(contentsOfFile: "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
                                        encoding: .utf8)) ?? "unknown"
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return HostState(cpuModel: cpuModel(),
                         governor: governorText.trimmingCharacters(in: .whitespacesAndNewlines),
                         loadAverage1m: load, coreCount: cores, cpuFrequenciesMHz: cpuFrequencies(cores: cores),
                         thermalZonesCelsius: thermalZones())
    }

    /// Current frequency of each CPU in MHz (cpufreq's `scaling_cur_freq`); empty where the
    /// kernel exposes none, as in most VMs.
    public var cpuFrequenciesMHz: [Double] = []
    /// Each thermal zone's temperature in °C; empty where the kernel exposes none.
    public var thermalZonesCelsius: [(zone: String, celsius: Double)] = []

    /// `cpu0 2400 MHz, cpu1 1800 MHz`, or `not exposed by the kernel`.
    public var cpuFrequencyText: String {
        cpuFrequenciesMHz.isEmpty ? "not exposed by the kernel"
            : cpuFrequenciesMHz.enumerated().map { String(format: "cpu%d %.0f MHz", $0.offset, $0.element) }.joined(separator: ", ")
    }

    /// `x86_pkg_temp 54.0 °C`, or `not exposed by the kernel`.
    public var thermalText: String {
        thermalZonesCelsius.isEmpty ? "not exposed by the kernel"
            : thermalZonesCelsius.map { String(format: "%@ %.1f °C", $0.zone, $0.celsius) }.joined(separator: ", ")
    }

    /// cpufreq's current frequencies, in CPU order.
    static func cpuFrequencies(cores: Int) -> [Double] {
        (0..<cores).compactMap { core in
            (try? String(contentsOfFile: "/sys/devices/system/cpu/cpu\(core)/cpufreq/scaling_cur_freq", encoding: .utf8))
                .flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.map { $0 / 1000 }
        }
    }

    /// Every thermal zone's type and temperature (the kernel reports millidegrees).
    static func thermalZones() -> [(zone: String, celsius: Double)] {
        let root = "/sys/class/thermal"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("thermal_zone") }.sorted()
        return names.compactMap { name in
            guard let text = try? String(contentsOfFile: "\(root)/\(name)/temp", encoding: .utf8),
                  let milli = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
            let type = (try? String(contentsOfFile: "\(root)/\(name)/type", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? name
            return (type, milli / 1000)
        }
    }

    /// The CPU model name, or `unknown`.
    public static func cpuModel() -> String {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("model name") || line.hasPrefix("Model") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }

    /// Warnings for people: a governor other than `performance`, a load above half the cores.
    public var warnings: [String] {
        var result: [String] = []
        if governor != "performance" && governor != "unknown" {
            result.append("CPU frequency governor is '\(governor)', not 'performance': latencies may be slower and "
                + "noisier (set it with `cpupower frequency-set -g performance`)")
        }
        if loadAverage1m > Double(coreCount) * 0.5 {
            result.append("the machine is busy (load average \(String(format: "%.2f", loadAverage1m)) on \(coreCount) "
                + "cores): latencies may be inflated; profile on an idle machine for final numbers")
        }
        return result
    }
}
