import ArgumentParser
import Training

/// The options `evaluate` and `predict` share: which trained model (a run's checkpoint or an
/// exported file), and what is done to its scores (test-time augmentation, a post-hoc adjustment).
struct TrainedModelArguments: ParsableArguments {
  @Option(name: .customLong("run"), help: "The run directory (holding hparams.json and the checkpoints).")
  var runPath: String?

  @Option(help: "The checkpoint of --run: best or last.")
  var checkpoint = "best"

  @Option(help: "An exported classifier (safetensors from `imbal-dist export`) instead of --run.")
  var model: String?

  @Option(
    help:
      "Test-time augmentation: none, flip (average with the mirror image) or flip-shift (image classifiers: and both moved one pixel each way, 10 views)."
  )
  var tta: TestTimeAugmentation = .none

  @Option(
    name: .customLong("logit-adjust"),
    help: ArgumentHelp(
      "Post-hoc logit adjustment (Menon et al. 2021): subtract τ·log(training class prior) from the logits before predicting. A τ from 0 to 10, or auto: τ from 0 to 3 in steps of 0.25, the best on the run's validation split by its --select-by metric.",
      valueName: "τ|auto"))
  var logitAdjust: String?

  @Option(
    name: .customLong("tau-norm"),
    help: ArgumentHelp(
      "Post-hoc τ-normalisation of the classifier (Kang et al. 2020): divide each class's weight row by its norm to the power τ and drop the bias. A τ from 0 to 10, or auto: τ from 0 to 2 in steps of 0.1, the best on the run's validation split by its --select-by metric.",
      valueName: "τ|auto"))
  var tauNorm: String?

  /// The post-hoc adjustment asked for, if any.
  var adjustment: (method: ScoreAdjustment.Method, choice: TauChoice)? {
    if let choice = logitAdjust.flatMap(TauChoice.init(argument:)) { return (.logitAdjustment, choice) }
    if let choice = tauNorm.flatMap(TauChoice.init(argument:)) { return (.tauNormalization, choice) }
    return nil
  }

  func validate() throws {
    guard (runPath == nil) != (model == nil) else { throw ValidationError("give either --run or --model") }
    guard ["best", "last"].contains(checkpoint) else {
      throw ValidationError("--checkpoint must be best or last")
    }
    for (option, value) in [("--logit-adjust", logitAdjust), ("--tau-norm", tauNorm)] {
      if let value, TauChoice(argument: value) == nil {
        throw ValidationError("\(option) must be auto or a τ from 0 to 10, not \(value)")
      }
    }
    if logitAdjust != nil && tauNorm != nil {
      throw ValidationError(
        "--logit-adjust and --tau-norm are two post-hoc corrections of the same scores: give one")
    }
  }
}
