import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// How a run takes its directory: a new run wants one holding no other run, `--force` replaces
/// the files a run writes there, `--resume` continues the run it holds.
public enum RunStart: Sendable, Equatable {
  case fresh, replace, resume
}

/// A run directory owned by this process: `run.lock` is held with flock(2) for the process's
/// life (the kernel releases it however the process ends) and names the holder's host, PID and
/// start time for whoever finds it taken.
public final class RunLock {
  public static let fileName = "run.lock"
  private let descriptor: Int32

  /// Takes `run`'s lock, creating the directory; fails naming the holder when another process
  /// has it.
  public init(_ run: RunDirectory) throws {
    do {
      try FileManager.default.createDirectory(atPath: run.path, withIntermediateDirectories: true)
    } catch {
      throw TrainingError.cannotWrite(path: run.path, reason: error.localizedDescription)
    }
    let path = run.file(Self.fileName)
    descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw TrainingError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
    }
    guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
      let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines)
      close(descriptor)
      throw TrainingError.runInUse(path: run.path, holder: holder.flatMap { $0.isEmpty ? nil : $0 })
    }
    let owner = Data("host \(ProcessInfo.processInfo.hostName), PID \(getpid()), since \(Self.now())\n".utf8)
    let written = owner.withUnsafeBytes {
      ftruncate(descriptor, 0) == 0 ? pwrite(descriptor, $0.baseAddress, $0.count, 0) : -1
    }
    guard written == owner.count else {
      close(descriptor)
      throw TrainingError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
    }
  }

  deinit { close(descriptor) }

  private static func now() -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: Date())
  }
}

extension RunDirectory {
  /// The files a run writes here (the lock aside): what `--force` replaces and what makes a
  /// directory "hold a run".
  public func runFiles() -> [String] {
    let written = Set(
      [
        hyperParameters, trainLog, validLog, testResult, lastCheckpoint, lastState, bestCheckpoint, embedding,
        report, perClassTable, maskOverlays,
      ]
      .map { URL(fileURLWithPath: $0).lastPathComponent })
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.filter { name in
      written.contains(name) || name.hasPrefix("events.out.tfevents.")
        || RunPlot.allCases.contains { name == "\($0.rawValue).svg" }
    }.sorted()
  }

  /// Locks the directory for this run and makes it ready for `start`: a fresh run is refused
  /// where another run's files are, `.replace` removes those files (and nothing else).
  public func claim(for start: RunStart) throws -> RunLock {
    let lock = try RunLock(self)
    let existing = runFiles()
    switch start {
    case .fresh:
      if let first = existing.first { throw TrainingError.runExists(path: path, file: first) }
    case .replace:
      for name in existing {
        do {
          try FileManager.default.removeItem(atPath: file(name))
        } catch {
          throw TrainingError.cannotWrite(path: file(name), reason: error.localizedDescription)
        }
      }
    case .resume:
      break
    }
    return lock
  }
}
