import Foundation

/// Rows of cells as aligned text lines, a rule under the header row; columns from
/// `numericFrom` on are right-aligned. Used by `--describe` and `imbal-dist bench`.
public func textTable(_ rows: [[String]], numericFrom: Int) -> [String] {
  let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max()! }
  var lines = rows.map { row in
    row.enumerated().map { column, cell in
      let padding = String(repeating: " ", count: widths[column] - cell.count)
      return column >= numericFrom ? padding + cell : cell + padding
    }.joined(separator: "  ")
  }
  lines.insert(String(repeating: "-", count: lines[0].count), at: 1)
  return lines
}

/// `value` with `digits` decimals (C's `%.Nf`, independent of the locale).
public func fixed(_ value: Double, _ digits: Int) -> String {
  String(format: "%.\(digits)f", value)
}
