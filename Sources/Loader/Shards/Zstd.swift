import CZstd

/// One zstd frame per call (Collet & Kucherawy, RFC 8878), always with its content size and
/// a content checksum (XXH64), so that decompression detects any corrupted byte.
enum Zstd {
  struct Failure: Error {
    let reason: String
  }

  static func compress(_ bytes: UnsafeRawBufferPointer, level: Int) -> [UInt8] {
    let context = ZSTD_createCCtx()!
    defer { ZSTD_freeCCtx(context) }
    ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(level))
    ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
    ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1)
    var output = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
    let written = output.withUnsafeMutableBytes {
      ZSTD_compress2(context, $0.baseAddress, $0.count, bytes.baseAddress, bytes.count)
    }
    precondition(
      ZSTD_isError(written) == 0, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
    output.removeSubrange(written...)
    return output
  }

  /// Decompresses exactly one frame that must hold `expectedSize` bytes.
  static func decompress(_ frame: UnsafeRawBufferPointer, expectedSize: Int) throws -> [UInt8] {
    let declared = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
    if declared == czstd_contentsize_error() { throw Failure(reason: "not a zstd frame") }
    if declared != czstd_contentsize_unknown() && declared != UInt64(expectedSize) {
      throw Failure(reason: "frame declares \(declared) bytes, expected \(expectedSize)")
    }
    var output = [UInt8](repeating: 0, count: expectedSize)
    let produced = output.withUnsafeMutableBytes {
      ZSTD_decompress($0.baseAddress, $0.count, frame.baseAddress, frame.count)
    }
    if ZSTD_isError(produced) != 0 { throw Failure(reason: String(cString: ZSTD_getErrorName(produced))) }
    if produced != expectedSize {
      throw Failure(reason: "frame holds \(produced) bytes, expected \(expectedSize)")
    }
    return output
  }
}

/// The zstd library's version (`ZSTD_versionString`).
public func zstdVersion() -> String { String(cString: ZSTD_versionString()) }
