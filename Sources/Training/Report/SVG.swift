import Foundation

/// A standalone SVG document built element by element; text is XML-escaped, so the output is
/// always well-formed XML (checked by the tests with an XML parser).
struct SVG {
  let width: Double
  let height: Double
  private var body: [String] = []

  init(width: Double, height: Double) {
    self.width = width
    self.height = height
  }

  mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, title: String? = nil)
  {
    let tooltip = title.map { "<title>\(xmlEscaped($0))</title>" } ?? ""
    body.append(
      "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(max(width, 0)))\" height=\"\(n(max(height, 0)))\" fill=\"\(fill)\">\(tooltip)</rect>"
    )
  }

  mutating func line(
    x1: Double, y1: Double, x2: Double, y2: Double, stroke: String = "#999", width: Double = 1
  ) {
    body.append(
      "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\"/>"
    )
  }

  mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2) {
    let list = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
    body.append(
      "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\"/>")
  }

  mutating func circle(x: Double, y: Double, radius: Double, fill: String, opacity: Double = 1) {
    body.append(
      "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(radius))\" fill=\"\(fill)\" fill-opacity=\"\(n(opacity))\"/>"
    )
  }

  /// `anchor` is `start`, `middle` or `end`; `rotate` turns the text about its anchor point.
  mutating func text(
    _ content: String, x: Double, y: Double, size: Double = 12, anchor: String = "start",
    fill: String = "#222",
    rotate: Double = 0
  ) {
    let transform = rotate == 0 ? "" : " transform=\"rotate(\(n(rotate)) \(n(x)) \(n(y)))\""
    body.append(
      "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(n(size))\" text-anchor=\"\(anchor)\" fill=\"\(fill)\"\(transform)>\(xmlEscaped(content))</text>"
    )
  }

  var document: String {
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\" font-family=\"sans-serif\">\n"
      + body.joined(separator: "\n") + "\n</svg>\n"
  }

  private func n(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// `text` with XML's five special characters escaped.
func xmlEscaped(_ text: String) -> String {
  var result = ""
  for character in text {
    switch character {
    case "&": result += "&amp;"
    case "<": result += "&lt;"
    case ">": result += "&gt;"
    case "\"": result += "&quot;"
    case "'": result += "&apos;"
    default: result.append(character)
    }
  }
  return result
}

/// A colour per class, `#rrggbb`: matplotlib's ten "tab10" colours (its gray, invisible over
/// gray images, swapped for gold), then hues 137° apart.
func classColor(_ index: Int) -> String {
  "#" + classRGB(index).map { String(format: "%02x", $0) }.joined()
}

/// `classColor` as red, green and blue bytes (the mask overlays paint with it); past tab10,
/// HSL(137·k mod 360°, 65 %, 45 %) converted as CSS Color 4 specifies.
func classRGB(_ index: Int) -> [UInt8] {
  let tab10: [UInt32] = [
    0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0xffd700, 0xbcbd22, 0x17becf,
  ]
  if index < tab10.count { return [16, 8, 0].map { UInt8((tab10[index] >> $0) & 0xff) } }
  let (hue, saturation, lightness) = (Double((index * 137) % 360), 0.65, 0.45)
  let a = saturation * min(lightness, 1 - lightness)
  return [0.0, 8, 4].map { n in
    let k = (n + hue / 30).truncatingRemainder(dividingBy: 12)
    return UInt8((255 * (lightness - a * max(-1, min(k - 3, 9 - k, 1)))).rounded())
  }
}
