import ArgumentParser
import EdgeNASCore
import EdgeNASData
import EdgeNASModels
import EdgeNASONNX
import EdgeNASTensor
import Foundation

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export an architecture to an ONNX model (IR 8, opset 17) for deployment and on-device timing.",
        discussion: """
        Builds the network the architecture file describes, with the weights of a checkpoint \
        from `edgenas train` or, without --weights, the engine's seeded initial weights, and \
        writes it in inference form: BatchNorm folded into the convolutions, input `input` \
        [batch, C, H, W] with a symbolic batch, output `logits` [batch, classes]. The model's \
        metadata holds the architecture's canonical JSON, its id, Params and FLOPs, and with \
        --weights how to prepare an image (edgenas.preprocessing: input size, channel order, \
        resize method, mean, std and class names, from the CHECKPOINT.json that `train` \
        writes), which `edgenas predict` follows.

        The model is checked with the ONNX checker (libonnx, strict shape inference) before \
        it is renamed into place; a checkpoint that does not fit the architecture or a missing output \
        directory is refused and nothing is written.

        Examples:
          edgenas export best.json --weights runs/best.ckpt --out exports/best.onnx
          edgenas export arch.json --seed 3 --out exports/arch-untrained.onnx
        """
    )

    @OptionGroup var file: ArchitectureFile

    @Option(help: ArgumentHelp("Checkpoint written by `edgenas train` for this architecture.", valueName: "checkpoint"))
    var weights: String?

    @Option(help: ArgumentHelp("Where to write the model; the directory must exist.", valueName: "path.onnx"))
    var out: String

    @Option(help: "Seed of the initial weights when no --weights is given (default 0).")
    var seed: UInt64?

    @Option(help: ArgumentHelp("How a Mamba layer's selective scan is written: scan (ONNX's Scan operator; fastest to "
                               + "load and run in ONNX Runtime for these spaces), unrolled (one Mul and Add per token, "
                               + "for runtimes without Scan) or cumsum (closed form; overflows float32 on long "
                               + "sequences). See benchmarks/mamba-onnx-scan.md.", valueName: "form"))
    var mambaScan: MambaScanForm = .scanOperator

    func validate() throws {
        if weights != nil && seed != nil {
            throw ValidationError("--seed chooses initial weights and --weights loads trained ones: give only one")
        }
        guard !out.isEmpty else { throw ValidationError("--out must name a file, for example exports/model.onnx") }
    }

    func run() throws {
        let architecture = try file.load()
        let outURL = URL(fileURLWithPath: out)
        do { try OutputPath.checkFile(out, option: "--out") } catch { throw CommandFailure.badInput("\(error)") }

        let network = NetworkBuilder.network(for: architecture, seed: seed ?? 0)
        var metadata: [String: String] = [:]
        var record: TrainingRecord?
        if let weights {
            guard FileManager.default.fileExists(atPath: weights) else {
                throw CommandFailure.badInput("\(weights): no such checkpoint; write one with " +
                                              "`edgenas train \(file.architecture) --out \(weights)`")
            }
            do {
                try Checkpoint.restore(network, from: URL(fileURLWithPath: weights))
                record = try TrainingRecord.read(forCheckpoint: URL(fileURLWithPath: weights))
            } catch {
                throw CommandFailure.badInput("\(error)")
            }
            // A checkpoint without a record predates records: Fashion-MNIST's normalisation.
            let preprocessing = record?.preprocessing ?? InputPreprocessing(
                channels: architecture.input.channels, height: architecture.input.height, width: architecture.input.width,
                normalization: .fashionMNIST)
            metadata[InputPreprocessing.metadataKey] = try withCommandErrors { try preprocessing.jsonString() }
        }
        network.setTrainingMode(false)
        do {
            let model = try ONNXExporter.model(for: architecture, network: network, metadata: metadata,
                                               mambaScanForm: mambaScan)
            try model.write(to: outURL)
        } catch let error as ONNXExportError {
            if case .checkerRejected = error { throw CommandFailure.internalError("\(error)") }
            throw CommandFailure.badInput("\(error)")
        } catch {
            throw CommandFailure.badInput("\(error)")
        }

        let cost = architecture.cost
        print("wrote \(out)")
        print("  architecture \(architecture.id) (\(architecture.family.rawValue)), weights " +
              (weights.map { "from \($0)" } ?? "seeded with \(seed ?? 0)"))
        print("  Params \(cost.params) (\(String(format: "%.3f", cost.megaParams)) M)")
        print("  FLOPs \(cost.flops) (\(String(format: "%.3f", cost.megaFLOPs)) M per image)")
        if let json = metadata[InputPreprocessing.metadataKey] {
            print("  preprocessing (metadata \(InputPreprocessing.metadataKey)" + (record == nil ? ", Fashion-MNIST's: the checkpoint has no record" : "")
                  + "): \(json)")
        }
        print("  ONNX IR \(ONNXGraphBuilder.irVersion), opset \(ONNXGraphBuilder.opsetVersion): " +
              "checker passed (libonnx check_model + strict shape inference)")
    }
}

extension MambaScanForm: ExpressibleByArgument {}
