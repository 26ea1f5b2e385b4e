import Foundation

/// A TensorBoard event file, `events.out.tfevents.<seconds>.<host>`, read by
/// `tensorboard --logdir runs`: TFRecord framing (length, masked CRC-32C of the length, data,
/// masked CRC-32C of the data) around `tensorflow.Event` protos. The first event carries
/// `file_version = "brain.Event:2"`; each later one a `Summary` of scalar values at a step.
/// The file is flushed after every record, so TensorBoard follows a running job.
public final class EventFileWriter {
  public let path: String
  private let handle: FileHandle

  public init(directory: String, now: Date = Date()) throws {
    let host = ProcessInfo.processInfo.hostName
    path = "\(directory)/events.out.tfevents.\(Int(now.timeIntervalSince1970)).\(host)"
    guard FileManager.default.createFile(atPath: path, contents: nil),
      let handle = FileHandle(forWritingAtPath: path)
    else { throw TrainingError.cannotWrite(path: path, reason: "cannot create the file") }
    self.handle = handle
    var event = Protobuf()
    event.double(field: 1, now.timeIntervalSince1970)
    event.string(field: 3, "brain.Event:2")
    try write(record: event.bytes)
  }

  deinit { try? handle.close() }

  /// One `Event` with a scalar summary per `(tag, value)`.
  public func scalars(_ values: [(tag: String, value: Double)], step: Int, wallTime: Date = Date()) throws {
    var summary = Protobuf()
    for (tag, value) in values {
      var entry = Protobuf()
      entry.string(field: 1, tag)
      entry.float(field: 2, Float(value))
      summary.message(field: 1, entry)
    }
    var event = Protobuf()
    event.double(field: 1, wallTime.timeIntervalSince1970)
    event.varint(field: 2, UInt64(step))
    event.message(field: 5, summary)
    try write(record: event.bytes)
  }

  /// TFRecord framing of one record.
  static func framed(_ data: [UInt8]) -> [UInt8] {
    var length: [UInt8] = []
    withUnsafeBytes(of: UInt64(data.count).littleEndian) { length.append(contentsOf: $0) }
    var record = length
    withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { record.append(contentsOf: $0) }
    record += data
    withUnsafeBytes(of: CRC32C.masked(data).littleEndian) { record.append(contentsOf: $0) }
    return record
  }

  private func write(record data: [UInt8]) throws {
    do {
      try handle.write(contentsOf: Self.framed(data))
      try handle.synchronize()
    } catch {
      throw TrainingError.cannotWrite(path: path, reason: error.localizedDescription)
    }
  }
}

/// The few protobuf wire-format encodings an `Event` needs (varint, 64- and 32-bit fixed,
/// length-delimited), written by hand so no protobuf library is needed.
struct Protobuf {
  private(set) var bytes: [UInt8] = []

  private mutating func tag(_ field: Int, _ wireType: UInt64) { appendVarint(UInt64(field) << 3 | wireType) }

  private mutating func appendVarint(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      bytes.append(UInt8(v & 0x7F) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }

  mutating func varint(field: Int, _ value: UInt64) {
    tag(field, 0)
    appendVarint(value)
  }

  mutating func double(field: Int, _ value: Double) {
    tag(field, 1)
    withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
  }

  mutating func float(field: Int, _ value: Float) {
    tag(field, 5)
    withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
  }

  mutating func string(field: Int, _ value: String) { lengthDelimited(field, Array(value.utf8)) }

  mutating func message(field: Int, _ value: Protobuf) { lengthDelimited(field, value.bytes) }

  private mutating func lengthDelimited(_ field: Int, _ payload: [UInt8]) {
    tag(field, 2)
    appendVarint(UInt64(payload.count))
    bytes += payload
  }
}
