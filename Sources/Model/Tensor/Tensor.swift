/// A batch of Float feature maps in contiguous NCHW storage.
///
/// Storage is allocated once, for the largest batch it will hold (`capacity`); a smaller
/// batch reuses it (`resize(batch:)`), so the training step allocates nothing. It is a
/// reference type on purpose: layers write into tensors planned by the network, never copies.
/// A tensor either owns its storage or views part of an arena the network plans.
public final class Tensor {
  public private(set) var shape: Shape
  public let capacity: Int
  public let pointer: UnsafeMutablePointer<Float>
  /// The arena a view's storage lies in (kept alive by the view); nil when the tensor owns it.
  private let arena: Arena?

  /// A zero-filled tensor of `shape`.
  public init(shape: Shape) {
    self.shape = shape
    capacity = max(shape.count, 1)
    pointer = .allocate(capacity: capacity)
    pointer.initialize(repeating: 0, count: capacity)
    arena = nil
  }

  /// A tensor of `shape` over `arena`'s elements from `offset`, which other views may share.
  public init(shape: Shape, in arena: Arena, at offset: Int) {
    precondition(
      offset >= 0 && offset + shape.count <= arena.count, "\(shape) does not fit the arena at \(offset)")
    self.shape = shape
    capacity = shape.count
    pointer = arena.base + offset
    self.arena = arena
  }

  /// A tensor holding `values` (count must equal `shape.count`).
  public convenience init(shape: Shape, values: [Float]) {
    precondition(values.count == shape.count, "\(values.count) values for shape \(shape)")
    self.init(shape: shape)
    values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
  }

  deinit { if arena == nil { pointer.deallocate() } }

  /// Changes the batch size in place; the storage must already be large enough.
  public func resize(batch: Int) {
    let newShape = shape.with(batch: batch)
    precondition(newShape.count <= capacity, "batch \(batch) exceeds the planned capacity")
    shape = newShape
  }

  /// The elements in use, as a mutable buffer.
  public var buffer: UnsafeMutableBufferPointer<Float> {
    UnsafeMutableBufferPointer(start: pointer, count: shape.count)
  }

  /// Pointer to the first element of image `n`.
  @inline(__always) public func image(_ n: Int) -> UnsafeMutablePointer<Float> {
    pointer + n * shape.perImage
  }

  public func fill(_ value: Float) { pointer.update(repeating: value, count: shape.count) }

  /// A copy of the elements in use.
  public func toArray() -> [Float] { Array(buffer) }
}
