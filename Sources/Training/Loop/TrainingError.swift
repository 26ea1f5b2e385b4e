/// A run that cannot go on.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
  case nonFiniteLoss(epoch: Int, step: Int, loss: Double)
  case layoutMismatch(rank: Int, detail: String)
  case replicasDiverged(epoch: Int, ranks: [Int])
  case cannotWrite(path: String, reason: String)

  public var description: String {
    switch self {
    case .nonFiniteLoss(let epoch, let step, let loss):
      return
        "training diverged: the loss is \(loss) at epoch \(epoch), step \(step); lower --lr or check the data"
    case .layoutMismatch(let rank, let detail):
      return
        "rank \(rank) built a different model than rank 0 (\(detail)); every rank must run the same build and options"
    case .replicasDiverged(let epoch, let ranks):
      return
        "after epoch \(epoch) the parameters of rank(s) \(ranks.map(String.init).joined(separator: ", ")) differ from rank 0's; the replicas are no longer identical"
    case .cannotWrite(let path, let reason):
      return "\(path): cannot be written (\(reason))"
    }
  }
}
