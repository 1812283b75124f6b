import ArgumentParser
import EdgeNASData
import EdgeNASDeploy
import Foundation

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify image files with an exported model in ONNX Runtime, preparing them as its metadata says.",
        discussion: """
        Reads how to prepare an image from the model's metadata (edgenas.preprocessing, \\
        written by `edgenas export --weights`): decode the PNG or JPEG, convert to the \\
        recorded channels (grey by ITU-R 601 luma), resize with Pillow's bilinear filter to \\
        the input size, scale to [0, 1], subtract the mean and divide by the std of each \\
        channel, NCHW float32. Prints the top classes with their softmax probabilities, by \\
        name when the training data named them.

        Examples:
          edgenas predict exports/best.onnx photo1.jpg photo2.png
          edgenas predict exports/best.onnx images/*.png --top 3 --json
        """
    )

    @Argument(help: ArgumentHelp("ONNX model written by `edgenas export --weights` or `edgenas search --train-epochs`.", valueName: "model.onnx"))
    var model: String

    @Argument(help: ArgumentHelp("PNG or JPEG files.", valueName: "image"))
    var images: [String]

    @Option(help: "How many classes to show per image.")
    var top: Int = 1

    @Option(help: "ONNX Runtime intra-op threads.")
    var threads: Int = 1

    @Flag(help: "Print one JSON array instead of text.")
    var json = false

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image file") }
        guard top >= 1 else { throw ValidationError("--top must be at least 1, got \(top)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        guard FileManager.default.fileExists(atPath: model) else {
            throw CommandFailure.badInput("\(model): no such model; write one with `edgenas export ARCH --weights CHECKPOINT --out \(model)`")
        }
        let predictor: ImagePredictor
        do { predictor = try ImagePredictor(modelAt: URL(fileURLWithPath: model), threads: threads) } catch {
            throw CommandFailure.badInput("\(error)")
        }
        let predictions: [Prediction]
        do { predictions = try predictor.predict(imagesAt: images.map { URL(fileURLWithPath: $0) }, top: top) } catch {
            throw CommandFailure.badInput("\(error)")
        }
        if json {
            let rows: [[String: Any]] = zip(images, predictions).map { image, prediction in
                ["image": image, "top": prediction.top.map { ranked -> [String: Any] in
                    var entry: [String: Any] = ["class_index": ranked.classIndex, "probability": ranked.probability]
                    entry["class"] = ranked.className
                    return entry
                }]
            }
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        for (image, prediction) in zip(images, predictions) {
            let classes = prediction.top.map { ranked in
                String(format: "%@ %.1f%%", ranked.className ?? "class \(ranked.classIndex)", ranked.probability * 100)
            }
            print("\(image): \(classes.joined(separator: ", "))")
        }
    }
}
