import Foundation

/// What the machine is doing when profiling starts: timings taken on a busy machine or a
/// power-saving governor are slower and noisier, so the profiler records and warns.
public struct HostState: Sendable, Equatable {
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
        return HostState(cpuModel: cpuModel(),
                         governor: governorText.trimmingCharacters(in: .whitespacesAndNewlines),
                         loadAverage1m: load, coreCount: ProcessInfo.processInfo.activeProcessorCount)
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
