// Training is the library's front door, as NIO's umbrella module is swift-nio's: the command
// line imports Training alone and reaches the model and data types it parses (architectures,
// samplers, class weights, `pack`'s options) through it. Distributed stays behind Training.
@_exported import Loader
@_exported import Model
