import CZstd

/// zstd frames (Collet & Kucherawy, RFC 8878), always with their content size and a content
/// checksum (XXH64), so that decompression detects any corrupted byte; optionally compressed
/// against a dictionary trained on the shard's own records (zstd's `ZDICT_trainFromBuffer`).
enum Zstd {
  struct Failure: Error {
    let reason: String
  }

  /// A dictionary for records like `samples`, at most `capacity` bytes; `nil` when zstd finds
  /// too little in them to train one (few or tiny samples).
  static func trainDictionary(samples: [ArraySlice<UInt8>], capacity: Int) -> [UInt8]? {
    let joined = Array(samples.joined())
    let sizes = samples.map(\.count)
    guard samples.count >= 8, !joined.isEmpty else { return nil }
    var dictionary = [UInt8](repeating: 0, count: capacity)
    let written = dictionary.withUnsafeMutableBytes { output in
      joined.withUnsafeBytes { input in
        ZDICT_trainFromBuffer(
          output.baseAddress, output.count, input.baseAddress, sizes, UInt32(sizes.count))
      }
    }
    guard ZDICT_isError(written) == 0 else { return nil }
    return Array(dictionary.prefix(written))
  }

  /// The content size a frame declares in its header (`nil`: none or not a frame).
  static func declaredSize(_ frame: UnsafeRawBufferPointer) -> Int? {
    let declared = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
    guard declared != czstd_contentsize_error(), declared != czstd_contentsize_unknown(),
      declared <= UInt64(Int.max)
    else { return nil }
    return Int(declared)
  }

  /// Compresses frames one after another, all at one level and with one dictionary.
  final class Compressor {
    private let context: OpaquePointer
    private let dictionary: OpaquePointer?

    init(level: Int, dictionary bytes: [UInt8]) {
      context = ZSTD_createCCtx()!
      ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
      ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1)
      dictionary =
        bytes.isEmpty
        ? nil : bytes.withUnsafeBytes { ZSTD_createCDict($0.baseAddress, $0.count, Int32(level)) }
      if let dictionary {
        ZSTD_CCtx_refCDict(context, dictionary)
      } else {
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(level))
      }
    }

    deinit {
      ZSTD_freeCCtx(context)
      if let dictionary { ZSTD_freeCDict(dictionary) }
    }

    func compress(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
      var output = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
      let written = output.withUnsafeMutableBytes {
        ZSTD_compress2(context, $0.baseAddress, $0.count, bytes.baseAddress, bytes.count)
      }
      precondition(
        ZSTD_isError(written) == 0, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
      output.removeSubrange(written...)
      return output
    }
  }

  /// A digested dictionary, shared read-only by every thread that decompresses a shard.
  final class Dictionary: @unchecked Sendable {
    let pointer: OpaquePointer

    init?(_ bytes: [UInt8]) {
      guard !bytes.isEmpty,
        let pointer = bytes.withUnsafeBytes({ ZSTD_createDDict($0.baseAddress, $0.count) })
      else { return nil }
      self.pointer = pointer
    }

    deinit { ZSTD_freeDDict(pointer) }
  }

  /// A decompression context: one per thread, reused for every frame it decompresses.
  final class Decompressor {
    private let context = ZSTD_createDCtx()!

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses exactly one frame that must fill `output` exactly (sized by the caller from
    /// `declaredSize`, which it has checked).
    func decompress(
      _ frame: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, dictionary: Dictionary?
    ) throws {
      let produced =
        ZSTD_decompress_usingDDict(
          context, output.baseAddress, output.count, frame.baseAddress, frame.count, dictionary?.pointer)
      if ZSTD_isError(produced) != 0 { throw Failure(reason: String(cString: ZSTD_getErrorName(produced))) }
      if produced != output.count {
        throw Failure(reason: "frame holds \(produced) bytes, expected \(output.count)")
      }
    }
  }
}

/// The zstd library's version (`ZSTD_versionString`).
public func zstdVersion() -> String { String(cString: ZSTD_versionString()) }
