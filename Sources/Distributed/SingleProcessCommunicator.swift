#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The group of one: single-node debug mode, used when imbal-dist runs without mpirun.
/// Every collective is the identity, and no MPI library is initialised.
public final class SingleProcessCommunicator: Communicator {
  public init() {}
  public var rank: Int { 0 }
  public var size: Int { 1 }
  public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
  public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
  public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws {
    precondition(root == 0, "root \(root) does not exist in a group of one")
  }
  public func barrier() throws {}
  public func gather(_ bytes: UnsafeRawBufferPointer, root: Int) throws -> [[UInt8]]? {
    precondition(root == 0, "root \(root) does not exist in a group of one")
    return [Array(bytes)]
  }
  public func abort(code: Int32) -> Never { exit(code) }
  public func finalize() {}
}
