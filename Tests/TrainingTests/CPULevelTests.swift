import CPUGuard
import Foundation
import XCTest

/// A binary built for the build machine's x86-64-v3 level (Package.swift) stops with one line on
/// a CPU without it, instead of dying of SIGILL in its first convolution; a portable build runs
/// there. The older CPU is QEMU's user-mode emulation of a Nehalem (SSE 4.2, no AVX).
final class CPULevelTests: XCTestCase {
  func testOnACPUWithoutAVX2() throws {
    #if arch(x86_64)
      guard let qemu = CommandRunner.onPath("qemu-x86_64") else {
        throw MissingRequirement.skip("qemu-x86_64 is not installed; run `make test` (it installs qemu-user)")
      }
      let result = try CommandRunner.run(
        executable: qemu, arguments: ["-cpu", "Nehalem", try CommandRunner.binary(), "inspect", "--help"])
      let errors = result.standardError.split(separator: "\n").filter { !$0.hasPrefix("qemu-x86_64:") }
      if imbal_requires_x86_64_v3() == 1 {
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(
          errors,
          [
            "imbal-dist: this build needs a CPU with AVX2, FMA and BMI2 (x86-64-v3, as the machine that built it has) and this one lacks them: rebuild on this machine, or with IMBAL_PORTABLE=1 for any x86-64"
          ])
        XCTAssertEqual(result.standardOutput, "")
      } else {
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.contains("USAGE: imbal-dist inspect"), result.standardOutput)
      }
    #else
      throw XCTSkip("the x86-64 levels concern x86-64 builds only")
    #endif
  }
}
