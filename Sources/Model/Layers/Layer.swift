import PRNG

/// How a parameter tensor is filled before training.
public enum Initialization: Sendable, Equatable {
  case zeros
  case ones
  /// U(−1/√fanIn, 1/√fanIn): PyTorch's default for the weights and biases of linear and
  /// convolution layers (`kaiming_uniform_` with a = √5); architecture.md, decision 43.
  case uniformFanIn(fanIn: Int)

  public func fill(_ values: UnsafeMutableBufferPointer<Float>, using rng: inout Xoshiro256) {
    switch self {
    case .zeros:
      values.update(repeating: 0)
    case .ones:
      values.update(repeating: 1)
    case .uniformFanIn(let fanIn):
      let bound = 1.0 / Double(fanIn).squareRoot()
      for i in values.indices { values[i] = Float((rng.nextUnitDouble() * 2 - 1) * bound) }
    }
  }
}

/// A tensor a layer asks an arena for: a parameter (`weight`, `bias`) or a buffer
/// (`running_mean`).
public struct ParameterSpec: Sendable {
  public let name: String
  public let shape: [Int]
  public let initialization: Initialization
  public init(name: String, shape: [Int], initialization: Initialization) {
    self.name = name
    self.shape = shape
    self.initialization = initialization
  }
}

/// One step of a network with an explicit forward pass and its hand-written backward pass.
///
/// The network plans every tensor once per batch size; a layer only reads its input and
/// writes its output. `backward` *accumulates* into the layer's parameter gradients (cleared
/// once per step by the network) and *overwrites* the input gradient when one is asked for
/// (the first layer is given none: nobody needs the gradient of the images).
public protocol Layer: AnyObject {
  /// The prefix of this layer's parameter names in checkpoints (`conv1`).
  var name: String { get }
  /// The parameter tensors this layer owns, in arena order.
  var parameterSpecs: [ParameterSpec] { get }
  /// State that is saved with the model but not trained (batch norm's running statistics).
  var bufferSpecs: [ParameterSpec] { get }
  /// The output shape for an input shape; traps on a shape the layer cannot take.
  func outputShape(for input: Shape) -> Shape
  /// Gives the layer the start of its parameters and of its gradients inside the arenas.
  func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>)
  /// Gives the layer the start of its buffers inside the network's buffer arena.
  func bind(buffers: UnsafeMutablePointer<Float>)
  /// Training mode (batch statistics, dropout) or inference mode; layers without a
  /// difference ignore it.
  func setTraining(_ training: Bool)
  func forward(_ input: Tensor, into output: Tensor)
  func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?)
  /// Which of its input and output tensors `backward` reads beyond their shapes: the network
  /// keeps only those after the forward pass and lends the others' memory to later tensors.
  var backwardReads: BackwardReads { get }
  /// Multiply–adds of the forward pass for one image of `input` shape.
  func forwardFLOPs(for input: Shape) -> Int
  /// What the layer is, for tables (`Conv2D`; a fused layer says what it fuses).
  var kind: String { get }
  /// Its hyper-parameters under PyTorch's argument names (`kernel_size`, `eps`, …) and the
  /// activation fused after it: what an export's layer list holds to rebuild it elsewhere.
  var settings: [String: Any] { get }
}

extension Layer {
  public var parameterSpecs: [ParameterSpec] { [] }
  public var bufferSpecs: [ParameterSpec] { [] }
  public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {}
  public func bind(buffers: UnsafeMutablePointer<Float>) {}
  public func setTraining(_ training: Bool) {}
  public var backwardReads: BackwardReads { [.input, .output] }
  public func forwardFLOPs(for input: Shape) -> Int { 0 }
  public var settings: [String: Any] { [:] }
  public var kind: String { String(describing: type(of: self)) }
}

/// A step that combines several tensors of the graph into one (a residual sum, a channel
/// concatenation). Backward overwrites each input gradient it is given.
public protocol MergeLayer: AnyObject {
  var name: String { get }
  func outputShape(for inputs: [Shape]) -> Shape
  func forward(_ inputs: [Tensor], into output: Tensor)
  func backward(inputs: [Tensor], output: Tensor, outputGradient: Tensor, inputGradients: [Tensor?])
  /// Whether `backward` reads its inputs' values (not only their shapes).
  var backwardReadsInputs: Bool { get }
  /// Whether `backward` reads its output's values (a fused activation's mask).
  var backwardReadsOutput: Bool { get }
  /// As `Layer.kind`.
  var kind: String { get }
  /// As `Layer.settings`: the activation fused after it, if any.
  var settings: [String: Any] { get }
}

/// The tensors a layer's backward pass reads the values of.
public struct BackwardReads: OptionSet, Sendable {
  public let rawValue: Int
  public init(rawValue: Int) { self.rawValue = rawValue }
  public static let input = BackwardReads(rawValue: 1)
  public static let output = BackwardReads(rawValue: 2)
}

extension MergeLayer {
  public var backwardReadsInputs: Bool { true }
  public var backwardReadsOutput: Bool { false }
  public var kind: String { String(describing: type(of: self)) }
  public var settings: [String: Any] { [:] }
}

/// `+ReLU`, `+ReLU6` or nothing: what a layer's `kind` adds for the activation fused after it.
func fusedActivationSuffix(_ cap: Float?) -> String {
  guard let cap else { return "" }
  return cap == .infinity ? "+ReLU" : "+ReLU\(Int(cap))"
}

/// `relu`, `relu6` (a cap of 6) or `none`: the activation a layer applies after itself.
func activationName(_ cap: Float?) -> String {
  guard let cap else { return "none" }
  return cap == .infinity ? "relu" : "relu\(Int(cap))"
}
