import CMPI

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A failed MPI call, with the library's own explanation.
public struct MPIError: Error, CustomStringConvertible {
  public let call: String
  public let code: Int32
  public var description: String {
    var text = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
    var length: Int32 = 0
    MPI_Error_string(code, &text, &length)
    let reason = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return "MPI call \(call) failed: \(reason) (error \(code))"
  }
}

/// The world of an `mpirun` job, through OpenMPI.
///
/// Works on a private duplicate of `MPI_COMM_WORLD` (so nobody else's messages can collide
/// with ours) whose error handler returns codes instead of aborting, so failures surface as
/// `MPIError` with the library's text.
public final class MPICommunicator: Communicator {
  public let rank: Int
  public let size: Int
  private var comm: MPI_Comm?
  private var finalized = false

  /// Initialises MPI (once per process) and duplicates the world communicator.
  public init() throws {
    var initialized: Int32 = 0
    MPI_Initialized(&initialized)
    if initialized == 0 {
      try check(MPI_Init(nil, nil), "MPI_Init")
    }
    var duplicate: MPI_Comm? = cmpi_comm_null()
    try check(MPI_Comm_dup(cmpi_comm_world(), &duplicate), "MPI_Comm_dup")
    MPI_Comm_set_errhandler(duplicate, cmpi_errors_return())
    var r: Int32 = 0
    var s: Int32 = 0
    MPI_Comm_rank(duplicate, &r)
    MPI_Comm_size(duplicate, &s)
    comm = duplicate
    rank = Int(r)
    size = Int(s)
  }

  public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
    guard let base = buffer.baseAddress, size > 1 else { return }
    try check(
      MPI_Allreduce(cmpi_in_place(), base, Int32(buffer.count), cmpi_float(), cmpi_sum(), comm),
      "MPI_Allreduce")
  }

  public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
    guard let base = buffer.baseAddress, size > 1 else { return }
    try check(
      MPI_Allreduce(cmpi_in_place(), base, Int32(buffer.count), cmpi_double(), cmpi_sum(), comm),
      "MPI_Allreduce")
  }

  public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
    guard let base = buffer.baseAddress, size > 1 else { return PendingReduction(request: nil, isDone: true) }
    var request: MPI_Request? = cmpi_request_null()
    try check(
      MPI_Iallreduce(cmpi_in_place(), base, Int32(buffer.count), cmpi_float(), cmpi_sum(), comm, &request),
      "MPI_Iallreduce")
    return PendingReduction(request: request, isDone: false)
  }

  public func progress(_ pending: PendingReduction) throws -> Bool {
    guard !pending.isDone else { return true }
    var flag: Int32 = 0
    try check(MPI_Test(&pending.request, &flag, cmpi_status_ignore()), "MPI_Test")
    if flag != 0 { pending.isDone = true }
    return pending.isDone
  }

  public func complete(_ pending: PendingReduction) throws {
    guard !pending.isDone else { return }
    try check(MPI_Wait(&pending.request, cmpi_status_ignore()), "MPI_Wait")
    pending.isDone = true
  }

  public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws {
    guard let base = bytes.baseAddress, size > 1 else { return }
    try check(MPI_Bcast(base, Int32(bytes.count), cmpi_byte(), Int32(root), comm), "MPI_Bcast")
  }

  public func barrier() throws {
    try check(MPI_Barrier(comm), "MPI_Barrier")
  }

  public func gather(_ bytes: UnsafeRawBufferPointer, root: Int) throws -> [[UInt8]]? {
    let count = bytes.count
    var received = [UInt8](repeating: 0, count: rank == root ? count * size : 0)
    try received.withUnsafeMutableBytes { out in
      try check(
        MPI_Gather(
          bytes.baseAddress, Int32(count), cmpi_byte(),
          out.baseAddress, Int32(count), cmpi_byte(), Int32(root), comm),
        "MPI_Gather")
    }
    guard rank == root else { return nil }
    return (0..<size).map { Array(received[($0 * count)..<(($0 + 1) * count)]) }
  }

  public func abort(code: Int32) -> Never {
    MPI_Abort(cmpi_comm_world(), code)
    exit(code)  // MPI_Abort does not return; this satisfies the type checker.
  }

  public func finalize() {
    guard !finalized else { return }
    finalized = true
    MPI_Comm_free(&comm)
    MPI_Finalize()
  }
}

private func check(_ code: Int32, _ call: String) throws {
  if code != cmpi_success() { throw MPIError(call: call, code: code) }
}

/// The MPI library's own version line (`MPI_Get_library_version`, callable before MPI_Init).
public func mpiLibraryVersion() -> String {
  var buffer = [CChar](repeating: 0, count: 8192)
  var length: Int32 = 0
  guard MPI_Get_library_version(&buffer, &length) == cmpi_success() else { return "unknown" }
  let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  return String(text.prefix { $0 != "," && $0 != "\n" })
}
