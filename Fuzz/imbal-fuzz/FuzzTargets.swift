import Foundation

@testable import Loader

/// libFuzzer entry points for every parser of outside bytes (issue 18), one binary for all:
/// `FUZZ_TARGET` picks the parser. Each input is written to a file in a private tmpfs directory
/// and read through the same entry point `pack`, `inspect` and `train` use; any thrown error is
/// a correct answer, a trap, a sanitizer report or an allocation beyond libFuzzer's limit is a
/// bug. Built and run by `scripts/fuzz` (`make fuzz`).
enum FuzzTarget: String, CaseIterable {
  /// `manifest.json` of a packed dataset.
  case manifest
  /// A `.imbs` shard: header, record table and every record (raw, PNG or JPEG); the header's
  /// CRC-32 is recomputed first, so mutations reach the parser behind it.
  case shard
  /// An IDX file, plain or gzipped.
  case idx
  /// CIFAR-100 binary batches (the same bytes as train.bin and test.bin).
  case cifar
  /// An image file decoded and resized by libvips, as `pack --source folder` does.
  case image
  /// A segmentation label mask (palette or grey PNG) read by libpng, as `pack --source
  /// seg-folder` does.
  case mask

  static let current: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
      FileHandle.standardError.write(
        Data("FUZZ_TARGET must be one of \(allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
      exit(2)
    }
    return target
  }()

  /// A directory of its own per process, on tmpfs when there is one.
  static let directory: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = "\(base)/imbal-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let names = (0..<100).map { "class\($0)" }.joined(separator: "\n")
    try? Data(names.utf8).write(to: URL(fileURLWithPath: "\(path)/fine_label_names.txt"))
    return path
  }()

  func run(_ bytes: [UInt8]) {
    let directory = Self.directory
    func write(_ bytes: [UInt8], _ name: String) -> String {
      let path = "\(directory)/\(name)"
      _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
      return path
    }
    switch self {
    case .manifest:
      _ = write(bytes, Manifest.fileName)
      _ = try? Manifest(directory: directory)
    case .shard:
      _ = try? ShardReader.read(at: write(Self.withHeaderChecksum(bytes), "s.imbs"))
    case .idx:
      _ = try? IDXArray(contentsOf: write(bytes, "a-idx3-ubyte"))
    case .cifar:
      _ = write(bytes, "train.bin")
      _ = write(bytes, "test.bin")
      _ = try? CIFAR.load(directory: directory, variant: .cifar100)
    case .image:
      var preparation = ImagePreparation()
      preparation.size = ImageSize(height: 16, width: 16)
      preparation.maxPixels = 1 << 22
      _ = try? preparation.prepare(path: write(bytes, "image"))
    case .mask:
      _ = try? LabelMask(path: write(bytes, "mask.png"), maxPixels: 1 << 22)
    }
  }

  /// `bytes` with the CRC-32 after the header (at 16 + the header length at bytes 12…15)
  /// recomputed, when the file is long enough to hold one.
  static func withHeaderChecksum(_ bytes: [UInt8]) -> [UInt8] {
    guard bytes.count >= ShardFormat.prefixSize else { return bytes }
    let bodySize = (12..<16).reduce(0) { $0 | Int(bytes[$1]) << (8 * ($1 - 12)) }
    let end = ShardFormat.prefixSize + bodySize
    guard end + 4 <= bytes.count else { return bytes }
    var fixed = bytes
    let crc = ShardFormat.crc32(bytes[0..<end])
    for byte in 0..<4 { fixed[end + byte] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(byte))) }
    return fixed
  }
}

/// One input for libFuzzer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  FuzzTarget.current.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
  return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
  _ argc: UnsafeMutablePointer<CInt>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's `main` to `<module>_main`: hand the command line to
/// libFuzzer's driver.
@_cdecl("imbal_fuzz_main")
public func fuzzMain(
  _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
  var (count, arguments) = (argc, argv)
  return runFuzzerDriver(&count, &arguments, fuzzOneInput)
}
