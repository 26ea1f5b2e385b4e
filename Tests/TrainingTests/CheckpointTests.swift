import Foundation
import Model
import Training
import XCTest

final class CheckpointTests: XCTestCase {
  /// The exact bytes of a one-tensor file: 8-byte little-endian header length, the JSON header
  /// padded with spaces to a multiple of 8, then the float32 values little-endian. The
  /// checksum aa36f2c9 is CRC-32C of the 8 data bytes, computed bit by bit in Python
  /// (reflected polynomial 0x82F63B78; the same loop gives e3069283 for "123456789").
  func testHeaderBytes() throws {
    let file = SafeTensors(entries: [.init(name: "fc.bias", shape: [2], values: [1, -2])])
    let bytes = [UInt8](file.encoded())
    let header =
      #"{"__metadata__":{"crc32c":"aa36f2c9"},"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
    XCTAssertEqual(padded.utf8.count % 8, 0)
    XCTAssertEqual(Array(bytes[0..<8]), [UInt8(padded.utf8.count), 0, 0, 0, 0, 0, 0, 0])
    XCTAssertEqual(String(decoding: bytes[8..<(8 + padded.utf8.count)], as: UTF8.self), padded)
    // 1.0 = 0x3F800000, −2.0 = 0xC0000000, little-endian.
    XCTAssertEqual(Array(bytes[(8 + padded.utf8.count)...]), [0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0])
  }

  func testRoundTripWithMetadata() throws {
    let file = SafeTensors(
      entries: [
        .init(name: "conv1.weight", shape: [2, 1, 1, 3], values: [1, 2, 3, 4, 5, 6]),
        .init(name: "conv1.bias", shape: [2], values: [-0.5, .leastNonzeroMagnitude]),
      ], metadata: ["epoch": "7", "note": "a \"quoted\" value"])
    let decoded = try SafeTensors(data: file.encoded(), path: "x")
    XCTAssertEqual(decoded, file)
  }

  /// A flipped bit in a tensor or an edited metadata value (an epoch counter) fails the
  /// checksum; a file without one (another program's) is read as it is.
  func testTheChecksumCatchesADamagedValueOrAnEditedCounter() throws {
    let file = SafeTensors(
      entries: [.init(name: "w", shape: [3], values: [1, 2, 3])], metadata: ["epochs_done": "4"])
    let good = [UInt8](file.encoded())
    /// `good` with the first occurrence of `old` replaced by `new` (of the same length).
    func replacing(_ old: String, _ new: String) throws -> [UInt8] {
      let (old, new) = (Array(old.utf8), Array(new.utf8))
      let at = try XCTUnwrap(
        (0...(good.count - old.count)).first { Array(good[$0..<($0 + old.count)]) == old })
      var bytes = good
      bytes.replaceSubrange(at..<(at + old.count), with: new)
      return bytes
    }
    var flipped = good
    flipped[good.count - 5] ^= 0x01
    let edited = try replacing("\"epochs_done\":\"4\"", "\"epochs_done\":\"5\"")
    for (bytes, name) in [(flipped, "flipped.safetensors"), (edited, "edited.safetensors")] {
      XCTAssertThrowsError(try SafeTensors(data: Data(bytes), path: name)) {
        XCTAssertEqual(
          "\($0)",
          "\(name): not a valid safetensors checkpoint: its checksum does not match its contents (the file was damaged or edited)"
        )
      }
    }
    let unchecked = try SafeTensors(data: Data(try replacing("\"crc32c\"", "\"nochek\"")), path: "other")
    XCTAssertEqual(unchecked.entries, file.entries)
  }

  func testCorruptFilesAreRejectedWithTheReason() throws {
    let good = SafeTensors(entries: [.init(name: "w", shape: [2], values: [1, 2])]).encoded()
    XCTAssertThrowsError(try SafeTensors(data: good.prefix(good.count - 1), path: "cut.safetensors")) {
      XCTAssertTrue("\($0)".contains("cut.safetensors"), "\($0)")
    }
    XCTAssertThrowsError(try SafeTensors(data: good.prefix(5), path: "tiny")) {
      XCTAssertTrue("\($0)".contains("shorter than its 8-byte header length"), "\($0)")
    }
    var longer = good
    longer.append(contentsOf: [0, 0, 0, 0])
    XCTAssertThrowsError(try SafeTensors(data: longer, path: "long")) {
      XCTAssertTrue("\($0)".contains("4 bytes after the last tensor"), "\($0)")
    }
    var huge = good
    huge[7] = 0x7F
    XCTAssertThrowsError(try SafeTensors(data: huge, path: "huge")) {
      XCTAssertTrue("\($0)".contains("the header claims"), "\($0)")
    }
  }

  func testModelCheckpointRestoresEveryParameterAndRefusesAnotherModel() throws {
    let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: 8, width: 8, classes: 3)
    network.initializeParameters(seed: 9)
    let file = ModelCheckpoint.make(network)
    XCTAssertEqual(file.entries.map(\.name).first, "conv1.weight")
    XCTAssertEqual(file["fc.weight"]?.shape, [3, 64])
    let copy = try Architecture.smallCNN.makeNetwork(channels: 1, height: 8, width: 8, classes: 3)
    try ModelCheckpoint.load(try SafeTensors(data: file.encoded(), path: "m"), into: copy, path: "m")
    XCTAssertEqual(copy.parameters.bitHash(), network.parameters.bitHash())

    let other = try Architecture.smallCNN.makeNetwork(channels: 1, height: 8, width: 8, classes: 4)
    XCTAssertThrowsError(try ModelCheckpoint.load(file, into: other, path: "m.safetensors")) {
      XCTAssertEqual(
        "\($0)", "m.safetensors: does not fit this model: fc.weight has shape [3, 64], the model's is [4, 64]"
      )
    }
  }

  /// Counters no run can have (a negative epoch, a best epoch after the last one) are refused
  /// naming them, rather than trapping when the loop counts from them.
  func testImpossibleCountersAreRefused() throws {
    let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: 8, width: 8, classes: 3)
    let optimizer = SGD(parameterCount: network.layout.count, momentum: 0.9, weightDecay: 0)
    for (epochs, best) in [(-1, nil), (1, 2), (2, 0)] as [(Int, Int?)] {
      let state = TrainingState(
        epochsDone: epochs, stepsDone: 8, bestEpoch: best, bestScore: best.map { _ in 0.5 })
      let file = try SafeTensors(
        data: state.file(velocity: optimizer.velocity, layout: network.layout).encoded(), path: "s")
      XCTAssertThrowsError(
        try TrainingState(file, velocity: optimizer.velocity, layout: network.layout, path: "s")
      ) {
        XCTAssertTrue("\($0)".contains("its counters cannot be true (epochs_done \(epochs)"), "\($0)")
      }
    }
  }

  func testTrainingStateRoundTrip() throws {
    let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: 8, width: 8, classes: 3)
    let optimizer = SGD(parameterCount: network.layout.count, momentum: 0.9, weightDecay: 0)
    for i in 0..<optimizer.velocity.count { optimizer.velocity.base[i] = Float(i % 17) - 8 }
    let state = TrainingState(epochsDone: 2, stepsDone: 228, bestEpoch: 1, bestScore: 0.8123456789012345)
    let file = try SafeTensors(
      data: state.file(velocity: optimizer.velocity, layout: network.layout).encoded(), path: "s")
    let restored = SGD(parameterCount: network.layout.count, momentum: 0.9, weightDecay: 0)
    XCTAssertEqual(
      try TrainingState(file, velocity: restored.velocity, layout: network.layout, path: "s"), state)
    XCTAssertEqual(restored.velocity.bitHash(), optimizer.velocity.bitHash())
  }
}
