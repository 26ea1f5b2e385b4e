/// Where each named parameter tensor lives inside the model's flat arena
/// (as `malloc_and_point_parameters` in llm.c, but derived from the layer list).
public struct ParameterLayout: Equatable, Sendable {
  /// One parameter tensor: its checkpoint name (`conv1.weight`), shape and place in the arena.
  public struct Entry: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
  }

  public private(set) var entries: [Entry] = []
  /// Total number of Float parameters.
  public private(set) var count = 0

  public init() {}

  /// Appends a tensor at the end of the arena and returns its offset.
  @discardableResult
  public mutating func append(name: String, shape: [Int]) -> Int {
    let entry = Entry(name: name, shape: shape, offset: count)
    entries.append(entry)
    count += entry.count
    return entry.offset
  }

  /// A 64-bit FNV-1a fingerprint of names, shapes and offsets: two ranks with equal
  /// fingerprints lay out their arenas identically.
  public var fingerprint: UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ byte: UInt8) {
      hash ^= UInt64(byte)
      hash &*= 0x100_0000_01b3
    }
    for entry in entries {
      for byte in entry.name.utf8 { mix(byte) }
      for dimension in entry.shape + [entry.offset] {
        withUnsafeBytes(of: UInt64(dimension).littleEndian) { $0.forEach(mix) }
      }
    }
    return hash
  }
}
