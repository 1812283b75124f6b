import Foundation
import Synchronization

/// Ctrl-C (SIGINT) and SIGTERM as a polite stop request: long commands poll `isRequested`
/// between units of work (a candidate, a measurement) and save what they have; a second
/// signal ends the process at once, which loses at most the unit in progress.
enum StopRequest {
    private static let count = Atomic<Int>(0)

    static var isRequested: Bool { count.load(ordering: .relaxed) > 0 }

    /// Installs the handlers; `notice` is written to standard error on the first signal.
    static func install(notice: String = "\nstopping after the current step (Ctrl-C again to quit at once)\n") {
        noticeText = notice
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { _ in
                let previous = StopRequest.count.add(1, ordering: .relaxed).oldValue
                if previous == 0 {
                    StopRequest.noticeText.withCString { pointer in _ = write(STDERR_FILENO, pointer, strlen(pointer)) }
                } else {
                    _exit(130)
                }
            }
        }
        // A parent may have started us with these signals blocked (some test runners and
        // process launchers do); a blocked Ctrl-C would never reach the handler.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }

    nonisolated(unsafe) private static var noticeText = ""
}
