// swift-tools-version:6.0
import Foundation
import PackageDescription

// Our Swift targets are built for the x86-64-v3 level (AVX2, FMA, BMI2; `-target-cpu haswell`)
// when the build machine's CPU has it and IMBAL_PORTABLE is unset: our own loops (Winograd
// transforms, batch norm, depthwise) get 256-bit vectors, ResNet-20's step ≈ 8 % shorter
// (docs/performance.md). CPUGuard then stops the binary on a CPU without it, with one line,
// before any of that code runs (as GROMACS does for the SIMD level it was built for).
let buildsForX86Level3: Bool = {
  guard Context.environment["IMBAL_PORTABLE"] == nil,
    let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
    let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
  else { return false }
  // The features clang's `__builtin_cpu_supports("x86-64-v3")` checks, as /proc/cpuinfo names them.
  let level3 = [
    "cx16", "lahf_lm", "popcnt", "pni", "ssse3", "sse4_1", "sse4_2",
    "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave",
  ]
  return Set(line.split(separator: " ").map(String.init)).isSuperset(of: level3)
}()
let vectorSettings: [SwiftSetting] = buildsForX86Level3 ? [.unsafeFlags(["-target-cpu", "haswell"])] : []
let guardSettings: [CSetting] = buildsForX86Level3 ? [.define("IMBAL_REQUIRES_X86_64_V3")] : []

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
    // Built for any x86-64: checks at load time that the CPU has what the rest was built for.
    // PRNG (below Model, Loader and Training) and Distributed depend on it, so that every
    // binary built from those targets links the check.
    .target(name: "CPUGuard", cSettings: guardSettings),
    // Software prefetch for Model's loops that jump between planes (Swift has no prefetch).
    .target(name: "CPrefetch"),
    .target(name: "PRNG", dependencies: ["CPUGuard"], swiftSettings: vectorSettings),
    // The ONNX schema's types, generated once by scripts/generate-onnx-swift.
    .target(
      name: "ONNX", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),

    // MARK: - Public API (arrows point down: Training wires the rest together)
    .target(name: "Distributed", dependencies: ["CMPI", "CPUGuard"], swiftSettings: vectorSettings),
    .target(name: "Model", dependencies: ["CBLAS", "CPrefetch", "PRNG"], swiftSettings: vectorSettings),
    .target(
      name: "Loader", dependencies: ["CZlib", "CZstd", "CVips", "CPNG", "CTurboJPEG", "PRNG"],
      swiftSettings: vectorSettings),
    .target(
      name: "Training",
      dependencies: [
        "Model", "Loader", "Distributed", "PRNG", "ONNX",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ], swiftSettings: vectorSettings),
    // The command line imports Training alone (which re-exports Model and Loader).
    .executableTarget(
      name: "imbal-dist",
      dependencies: [
        "Training",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Yams", package: "Yams"),
      ], swiftSettings: vectorSettings),

    // MARK: - Unit test bundles
    .testTarget(name: "ModelTests", dependencies: ["Model", "PRNG"], swiftSettings: vectorSettings),
    .testTarget(
      name: "LoaderTests", dependencies: ["Loader", "CPNG", "CTurboJPEG", "CZlib"],
      swiftSettings: vectorSettings),
    .testTarget(name: "DistributedTests", dependencies: ["Distributed"], swiftSettings: vectorSettings),
    .testTarget(
      name: "TrainingTests",
      dependencies: ["Training", "Model", "Loader", "Distributed", "PRNG", "CPNG", "CPUGuard"],
      swiftSettings: vectorSettings),
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
