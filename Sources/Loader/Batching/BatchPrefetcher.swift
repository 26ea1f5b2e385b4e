import Foundation

/// Fills the steps' batches ahead of the training thread on background threads, at most
/// `depth` steps ahead (a bounded queue of batch slots, step `k` in slot `k mod depth`). Each
/// batch is written whole by one thread and depends on its step alone, so the number of
/// threads changes when a batch is ready, never what it holds.
final class BatchPrefetcher: @unchecked Sendable {
  /// Writes step `step`'s batch (and its label masks, when the images have them); `worker`
  /// names the calling thread's context.
  typealias Fill =
    @Sendable (
      _ step: Int, _ pixels: UnsafeMutablePointer<Float>, _ labels: UnsafeMutablePointer<Int32>,
      _ masks: UnsafeMutablePointer<UInt8>?, _ worker: Int
    )
    throws -> Void

  let depth: Int
  let batchFloats: Int
  let batchImages: Int
  /// Mask bytes of a batch (0: no masks).
  let batchMaskBytes: Int
  private let condition = NSCondition()
  private let pixels: UnsafeMutablePointer<Float>
  private let labels: UnsafeMutablePointer<Int32>
  private let masks: UnsafeMutablePointer<UInt8>
  /// The step each slot holds once it is written (−1: none yet).
  private var written: [Int]
  private var fill: Fill?
  private var nextClaim = 0
  private var endStep = 0
  /// The step the training thread takes next; slots of earlier steps may be reused.
  private var nextTaken = 0
  private var generation = 0
  private var busy = 0
  private var failure: Error?
  private var stopping = false

  /// Starts `threads` threads that wait for `begin`.
  init(threads: Int, depth: Int, batchImages: Int, imageSize: Int, maskSize: Int = 0) {
    precondition(threads > 0 && depth > 0)
    self.depth = depth
    self.batchImages = batchImages
    batchFloats = batchImages * imageSize
    batchMaskBytes = batchImages * maskSize
    pixels = .allocate(capacity: max(1, depth * batchFloats))
    labels = .allocate(capacity: max(1, depth * batchImages))
    masks = .allocate(capacity: max(1, depth * batchMaskBytes))
    written = [Int](repeating: -1, count: depth)
    for worker in 0..<threads {
      let thread = Thread { [self] in work(worker) }
      thread.name = "imbal-dist loader \(worker)"
      thread.start()
    }
  }

  deinit {
    pixels.deallocate()
    labels.deallocate()
    masks.deallocate()
  }

  /// Ends the threads (they hold the prefetcher until they return).
  func stop() {
    condition.lock()
    stopping = true
    condition.broadcast()
    condition.unlock()
  }

  /// Drops whatever is queued and starts filling steps `first..<end` with `fill`.
  func begin(first: Int, end: Int, fill: @escaping Fill) {
    condition.lock()
    generation += 1
    while busy > 0 { condition.wait() }
    written = [Int](repeating: -1, count: depth)
    (nextClaim, nextTaken, endStep, failure) = (first, first, end, nil)
    self.fill = fill
    condition.broadcast()
    condition.unlock()
  }

  /// Copies step `step` (the next one in order) into `pixels`, `labels` and `masks` once it is
  /// written.
  func take(
    step: Int, pixels target: UnsafeMutablePointer<Float>, labels targetLabels: UnsafeMutablePointer<Int32>,
    masks targetMasks: UnsafeMutablePointer<UInt8>?
  )
    throws
  {
    precondition((targetMasks != nil) == (batchMaskBytes > 0), "masks are taken exactly when there are some")
    let slot = step % depth
    condition.lock()
    precondition(step == nextTaken, "batches are taken in order")
    while written[slot] != step && failure == nil { condition.wait() }
    if let failure {
      condition.unlock()
      throw failure
    }
    condition.unlock()
    target.update(from: pixels + slot * batchFloats, count: batchFloats)
    targetLabels.update(from: labels + slot * batchImages, count: batchImages)
    targetMasks?.update(from: masks + slot * batchMaskBytes, count: batchMaskBytes)
    condition.lock()
    nextTaken = step + 1
    condition.broadcast()
    condition.unlock()
  }

  private func work(_ worker: Int) {
    condition.lock()
    while true {
      while !stopping
        && !(fill != nil && nextClaim < endStep && nextClaim < nextTaken + depth && failure == nil)
      {
        condition.wait()
      }
      if stopping { break }
      let (step, task, round) = (nextClaim, fill!, generation)
      nextClaim += 1
      busy += 1
      condition.unlock()
      let slot = step % depth
      var error: Error?
      do {
        try task(
          step, pixels + slot * batchFloats, labels + slot * batchImages,
          batchMaskBytes > 0 ? masks + slot * batchMaskBytes : nil, worker)
      } catch let thrown {
        error = thrown
      }
      condition.lock()
      busy -= 1
      if round == generation {
        if let error { failure = failure ?? error } else { written[slot] = step }
      }
      condition.broadcast()
    }
    condition.unlock()
  }
}
