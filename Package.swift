// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "imbal-dist",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "imbal-dist", targets: ["imbal-dist"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
  ],
  targets: [
    // MARK: - System libraries (each with its pkg-config name, so the linker sees it)
    .systemLibrary(
      name: "CMPI", pkgConfig: "ompi",
      providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
    .systemLibrary(
      name: "CBLAS", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(
      name: "CZlib", pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(
      name: "CZstd", pkgConfig: "libzstd",
      providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(
      name: "CPNG", pkgConfig: "libpng",
      providers: [.apt(["libpng-dev"])]),
    .systemLibrary(
      name: "CTurboJPEG", pkgConfig: "libturbojpeg",
      providers: [.apt(["libjpeg62-turbo-dev", "libturbojpeg0-dev"])]),
    .systemLibrary(
      name: "CVips", pkgConfig: "vips",
      providers: [.apt(["libvips-dev"])]),

    // MARK: - Implementation details
    .target(name: "PRNG"),
    // The ONNX schema's types, generated once by scripts/generate-onnx-swift.
    .target(
      name: "ONNX", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),

    // MARK: - Public API (arrows point down: Training wires the rest together)
    .target(name: "Distributed", dependencies: ["CMPI"]),
    .target(name: "Model", dependencies: ["CBLAS", "PRNG"]),
    .target(name: "Loader", dependencies: ["CZlib", "CZstd", "CVips", "CPNG", "CTurboJPEG", "PRNG"]),
    .target(
      name: "Training",
      dependencies: [
        "Model", "Loader", "Distributed", "PRNG", "ONNX",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ]),
    // The command line imports Training alone (which re-exports Model and Loader).
    .executableTarget(
      name: "imbal-dist",
      dependencies: [
        "Training",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Yams", package: "Yams"),
      ]),

    // MARK: - Unit test bundles
    .testTarget(name: "ModelTests", dependencies: ["Model", "PRNG"]),
    .testTarget(name: "LoaderTests", dependencies: ["Loader", "CPNG", "CTurboJPEG", "CZlib"]),
    .testTarget(name: "DistributedTests", dependencies: ["Distributed"]),
    .testTarget(
      name: "TrainingTests", dependencies: ["Training", "Model", "Loader", "Distributed", "PRNG", "CPNG"]),
  ]
)

// `scripts/fuzz` (make fuzz) builds with IMBAL_FUZZ=1 and `-sanitize=fuzzer,address`: the
// libFuzzer binary over the Loader's parsers. Ordinary builds do not see it (libFuzzer brings
// its own `main`).
if Context.environment["IMBAL_FUZZ"] != nil {
  package.products.append(.executable(name: "imbal-fuzz", targets: ["imbal-fuzz"]))
  package.targets.append(
    .executableTarget(
      name: "imbal-fuzz", dependencies: ["Loader"], path: "Fuzz/imbal-fuzz",
      swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
}
