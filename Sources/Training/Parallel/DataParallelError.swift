/// A broken data-parallel contract: the ranks no longer train the same model the same way.
public enum DataParallelError: Error, CustomStringConvertible, Equatable {
  case layoutMismatch(rank: Int, detail: String)
  case replicasDiverged(after: String, ranks: [Int])
  case gradientReportedTwice(tensors: [String])
  case gradientNotExpected(tensors: [String])
  case gradientNeverReported(tensors: [String])

  public var description: String {
    switch self {
    case .layoutMismatch(let rank, let detail):
      return
        "rank \(rank) built a different model than rank 0 (\(detail)); every rank must run the same build and options"
    case .replicasDiverged(let moment, let ranks):
      return
        "after \(moment) the parameters of rank(s) \(ranks.map(String.init).joined(separator: ", ")) differ from rank 0's; the replicas are no longer identical"
    case .gradientReportedTwice(let tensors):
      return
        "the gradient of \(tensors.joined(separator: ", ")) was reported twice in one backward pass; its bucket would be reduced before it is final"
    case .gradientNotExpected(let tensors):
      return
        "backward produced the gradient of \(tensors.joined(separator: ", ")), which the step did not expect to reach; the buckets' plan is wrong"
    case .gradientNeverReported(let tensors):
      return
        "backward never produced the gradient of \(tensors.joined(separator: ", ")); its bucket was never reduced"
    }
  }
}
