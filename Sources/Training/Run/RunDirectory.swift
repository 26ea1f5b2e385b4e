import Foundation

/// The directory a run leaves behind (`--out runs/NAME`): its options, metric logs,
/// checkpoints, TensorBoard events, plots and report. Every file is written atomically
/// (a temporary file renamed into place), so a crash never leaves half a file.
public struct RunDirectory: Sendable {
  public let path: String

  public init(path: String) { self.path = path }

  /// `runs/`, `prefix` and the current UTC time, e.g. `runs/2026-11-23T10-15-03`.
  public static func timestamped(prefix: String = "", now: Date = Date()) -> RunDirectory {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd'T'HH-mm-ss"
    return RunDirectory(path: "runs/\(prefix)\(formatter.string(from: now))")
  }

  public var hyperParameters: String { file("hparams.json") }
  public var trainLog: String { file("train.csv") }
  public var validLog: String { file("valid.csv") }
  public var testResult: String { file("test.json") }
  /// Every class's test metrics, from the report (`per_class.csv`).
  public var perClassTable: String { file("per_class.csv") }
  public var lastCheckpoint: String { file("last.safetensors") }
  public var lastState: String { file("last.state.safetensors") }
  public var bestCheckpoint: String { file("best.safetensors") }
  public var embedding: String { file("tsne.csv") }
  /// A segmentation run's test images with their true and predicted masks (`MaskOverlays`).
  public var maskOverlays: String { file("test-masks.png") }
  public var report: String { file("report.html") }
  public func plot(_ name: String) -> String { file("\(name).svg") }

  public func file(_ name: String) -> String { "\(path)/\(name)" }

  /// Creates the directory and proves it writable by writing and removing a probe file of
  /// `probeBytes` (the size of what the run will write at once, e.g. a checkpoint and its
  /// temporary copy), so a bad or full `--out` fails before training starts, not after it.
  public func prepare(probeBytes: Int = 4096) throws {
    do {
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
      throw TrainingError.cannotWrite(path: path, reason: error.localizedDescription)
    }
    let probe = file(".probe-\(ProcessInfo.processInfo.processIdentifier)")
    try writeAtomically(Data(repeating: 0, count: max(probeBytes, 1)), to: probe)
    try? FileManager.default.removeItem(atPath: probe)
  }
}

/// Writes `data` to a temporary file beside `path` and renames it into place.
public func writeAtomically(_ data: Data, to path: String) throws {
  do {
    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
  } catch {
    throw TrainingError.cannotWrite(path: path, reason: error.localizedDescription)
  }
}
