import ArgumentParser
import Training

extension PredictionFormat: ExpressibleByArgument {}

struct Predict: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Classify new images with a trained model: image files, folders of them, or a packed dataset's split; under mpirun the images are shared over the ranks.",
    discussion: """
      Images are decoded, resized and converted as `pack` prepared the model's training records \
      (the resize policy, background and channels recorded in its dataset), then standardised \
      with the training statistics. Output: one line per image in input order, with the top \
      classes and their softmax probabilities.
      """)

  @Argument(
    help: "Image files, folders of image files (searched recursively), or one packed dataset directory.")
  var inputs: [String]

  @OptionGroup var trained: TrainedModelArguments

  @Option(help: "The run's packed dataset, if it moved (same manifest id).")
  var data: String?

  @Option(help: "The split of a packed dataset input: train, val or test.")
  var split = "test"

  @Option(help: "The output file; default: standard output.")
  var out: String?

  @Flag(help: "Replace --out if it exists.")
  var force = false

  @Option(help: "csv or jsonl; default: jsonl when --out ends in .jsonl, else csv.")
  var format: PredictionFormat?

  @Option(name: .customLong("top-k"), help: "Classes per image, best first.")
  var topK = 5

  @Option(name: .customLong("batch-size"), help: "Images per forward pass.")
  var batchSize = 128

  @Flag(help: "Add every class's score (after --tta and --logit-adjust) to each line.")
  var logits = false

  @Flag(
    name: .customLong("skip-unreadable"),
    help: "Report an image file that cannot be decoded and go on; by default it stops the command.")
  var skipUnreadable = false

  func validate() throws {
    guard SplitName(rawValue: split) != nil else {
      throw ValidationError("--split must be train, val or test")
    }
    guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    if trained.model != nil && data != nil { throw ValidationError("--data belongs with --run") }
  }

  func run() throws {
    var job = PredictionJob(
      model: trained.runPath.map { .run(path: $0, checkpoint: trained.checkpoint, dataset: data) }
        ?? .exported(path: trained.model!),
      inputs: inputs)
    job.split = SplitName(rawValue: split)!
    job.format = format ?? (out?.lowercased().hasSuffix(".jsonl") == true ? .jsonl : .csv)
    job.out = out
    job.force = force
    job.topK = topK
    job.batchSize = batchSize
    job.tta = trained.tta
    job.adjustment = trained.adjustment
    job.logits = logits
    job.skipUnreadable = skipUnreadable
    let prediction = job
    try endJob(with: Job.run { try prediction.run($0) })
  }
}
