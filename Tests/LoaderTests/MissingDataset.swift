/// Debian's `dataset-fashion-mnist` is not installed: a failure, not a skip, because
/// `make test` installs it and a silent skip would hide a broken install.
struct MissingDataset: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
