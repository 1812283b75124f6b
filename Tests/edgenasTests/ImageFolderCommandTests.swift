import EdgeNASData
import Foundation
import Testing

/// A user's own photos end to end: an image folder of PNG and JPEG files, RGB and grey, of
/// odd sizes, through `train`, `export` and `predict`.
@Suite(.serialized) struct ImageFolderCommandTests {
    static let rgbArchitecture = """
    {"format": "edgenas.architecture/1", "family": "mbconv", "input": {"channels": 3, "height": 32, "width": 32},
     "classes": 4, "activation": "relu6", "stem": {"channels": 8, "kernel": 3, "stride": 2},
     "stages": [{"channels": 16, "stride": 2, "blocks": [{"kernel": 3, "expand": 2, "se": false}]}],
     "head": {"channels": 0}}
    """
    static let classNames = ["Ankle boot", "Bag", "Trouser", "T-shirt"]
    static let fashionLabels: [UInt8] = [9, 8, 1, 0]

    /// `train/CLASS/` and `test/CLASS/` folders of real Fashion-MNIST images of four classes,
    /// recoloured (a tint per image), enlarged to odd sizes, every third one a JPEG and every
    /// fifth one grey.
    static func writeFolder(_ root: URL, trainPerClass: Int = 60, testPerClass: Int = 10) throws {
        let source = try MNISTFormat.load(split: .train)
        var taken = [Int](repeating: 0, count: classNames.count)
        for index in 0..<source.count {
            guard let classIndex = fashionLabels.firstIndex(of: source.labels[index]),
                  taken[classIndex] < trainPerClass + testPerClass else { continue }
            let part = taken[classIndex] < trainPerClass ? "train" : "test"
            taken[classIndex] += 1
            let folder = root.appendingPathComponent(part).appendingPathComponent(classNames[classIndex])
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let grey = Array(source.pixels(ofImage: index))
            let (width, height) = (28 + index % 9, 28 + index % 5)
            let tint = [0.6 + Double(index % 3) * 0.2, 1.0 - Double(index % 4) * 0.1, 0.5 + Double(index % 5) * 0.1]
            let channels = index % 5 == 0 ? 1 : 3
            var pixels: [UInt8] = []
            for y in 0..<height {
                for x in 0..<width {
                    let value = Double(grey[min(27, y * 28 / height) * 28 + min(27, x * 28 / width)])
                    pixels += channels == 1 ? [UInt8(value)] : tint.map { UInt8(min(255, value * $0)) }
                }
            }
            let image = DecodedImage(width: width, height: height, channels: channels, pixels: pixels)
            let jpeg = index % 3 == 0
            try ImageCodec.encode(image, jpegQuality: jpeg ? 92 : nil)
                .write(to: folder.appendingPathComponent("\(index).\(jpeg ? "jpg" : "png")"))
        }
    }

    @Test func aFolderOfPhotosTrainsExportsAndPredicts() throws {
        let directory = try makeTemporaryDirectory("images")
        defer { try? FileManager.default.removeItem(at: directory) }
        let folder = directory.appendingPathComponent("photos")
        try Self.writeFolder(folder)
        let architecture = directory.appendingPathComponent("rgb.json")
        try Data(Self.rgbArchitecture.utf8).write(to: architecture)
        let checkpoint = directory.appendingPathComponent("rgb.ckpt")
        let trained = try runEdgenas(["train", architecture.path, "--data", folder.path, "--epochs", "3", "--batch-size", "32",
                                      "--out", checkpoint.path, "--threads", "1"])
        #expect(trained.status == 0, "\(trained.standardError)")
        #expect(trained.standardOutput.contains("216 training, 24 validation, 40 test images"), "\(trained.standardOutput)")
        #expect(trained.standardOutput.contains("validation accuracy:"), "\(trained.standardOutput)")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: checkpoint.path + ".json"))) as! [String: Any]
        let preprocessing = record["preprocessing"] as! [String: Any]
        #expect(preprocessing["class_names"] as? [String] == Self.classNames.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect((preprocessing["normalization"] as! [String: Any])["mean"] as? [Double] != nil)
        let testAccuracy = try #require(record["test_accuracy"] as? Double)

        let model = directory.appendingPathComponent("rgb.onnx")
        let exported = try runEdgenas(["export", architecture.path, "--weights", checkpoint.path, "--out", model.path])
        #expect(exported.status == 0, "\(exported.standardError)")
        #expect(exported.standardOutput.contains("edgenas.preprocessing"), "\(exported.standardOutput)")

        // predict on the whole test part: its accuracy is the engine's test accuracy (same
        // preprocessing, ONNX Runtime instead of the engine), to within one image.
        let testFolder = folder.appendingPathComponent("test")
        var images: [String] = [], truth: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: testFolder.path).sorted() {
            for file in try FileManager.default.contentsOfDirectory(atPath: testFolder.appendingPathComponent(name).path).sorted() {
                images.append(testFolder.appendingPathComponent(name).appendingPathComponent(file).path)
                truth.append(name)
            }
        }
        let predicted = try runEdgenas(["predict", model.path] + images + ["--top", "2", "--json"])
        #expect(predicted.status == 0, "\(predicted.standardError)")
        let rows = try JSONSerialization.jsonObject(with: Data(predicted.standardOutput.utf8)) as! [[String: Any]]
        #expect(rows.count == images.count)
        let top = rows.map { (($0["top"] as! [[String: Any]])[0]["class"] as? String) ?? "" }
        #expect(rows.allSatisfy { ($0["top"] as! [[String: Any]]).count == 2 })
        let correct = zip(top, truth).filter { $0 == $1 }.count
        #expect(abs(correct - Int((testAccuracy * Double(images.count)).rounded())) <= 1,
                "predict: \(correct)/\(images.count), engine test accuracy \(testAccuracy)")
        let text = try runEdgenas(["predict", model.path, images[0]])
        #expect(text.status == 0 && text.standardOutput.hasPrefix(images[0] + ": "), "\(text.standardOutput)")
    }

    static let rgbSpace = """
        {"format": "edgenas.space/1", "name": "test-rgb32", "family": "mbconv",
         "input": {"channels": 3, "height": 32, "width": 32}, "classes": 4, "activation": "relu6",
         "stem": {"channels": 4, "kernel": 3, "stride": 2},
         "stages": [
           {"channels": [8, 12], "stride": 2, "depth": [1, 2], "kernel": [3, 5], "expand": [1, 2], "se": [false, true]}],
         "head": {"channels": [0, 32]}}
        """

    /// The whole pipeline (probes on the folder's images in grey, the final stage on the folder
    /// itself) at a tiny budget, then the winner trained, exported with its preprocessing, and
    /// run by predict.
    @Test func searchOnAnImageFolderExportsAModelPredictCanRun() throws {
        let directory = try makeTemporaryDirectory("images")
        defer { try? FileManager.default.removeItem(at: directory) }
        let folder = directory.appendingPathComponent("photos")
        try Self.writeFolder(folder, trainPerClass: 80, testPerClass: 5)
        let space = directory.appendingPathComponent("space.json")
        try Data(Self.rgbSpace.utf8).write(to: space)
        let export = directory.appendingPathComponent("exports/rgb.onnx")
        let search = try runEdgenas(["search", "--space", space.path, "--images", folder.path, "--candidates", "4",
                                     "--budget", "20s", "--train-epochs", "1",
                                     "--out", directory.appendingPathComponent("run").path, "--export", export.path, "--json"])
        #expect(search.status == 0, "\(search.standardError)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(search.standardOutput.utf8)) as? [String: Any],
                                  "\(search.standardOutput)")
        #expect(result["test_accuracy_percent"] as? Double != nil, "the folder's test part is scored: \(result)")
        let report = try String(contentsOf: directory.appendingPathComponent("run/report.md"), encoding: .utf8)
        #expect(report.contains("## Preparing an image for the model"), "\(report)")
        #expect(report.contains("image.resize((32, 32), Image.BILINEAR)") && report.contains("\"Ankle boot\""), "\(report)")
        let image = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("test/Bag").path)[0]
        let predicted = try runEdgenas(["predict", export.path, folder.appendingPathComponent("test/Bag/\(image)").path])
        #expect(predicted.status == 0, "\(predicted.standardError)")
        #expect(Self.classNames.contains { predicted.standardOutput.contains(": \($0) ") }, "\(predicted.standardOutput)")
    }

    @Test func badFoldersAndModelsFailWithTheirPath() throws {
        let directory = try makeTemporaryDirectory("images")
        defer { try? FileManager.default.removeItem(at: directory) }
        let architecture = directory.appendingPathComponent("rgb.json")
        try Data(Self.rgbArchitecture.utf8).write(to: architecture)
        let folder = directory.appendingPathComponent("photos")
        try Self.writeFolder(folder, trainPerClass: 2, testPerClass: 0)
        let empty = folder.appendingPathComponent("train/Zebra")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let out = directory.appendingPathComponent("m.ckpt").path
        let emptyClass = try runEdgenas(["train", architecture.path, "--data", folder.path, "--batch-size", "2", "--out", out])
        #expect(emptyClass.status == 64)
        #expect(emptyClass.standardError.contains("class folder \(empty.path) holds no .png"), "\(emptyClass.standardError)")
        try FileManager.default.removeItem(at: empty)
        let broken = folder.appendingPathComponent("train/Bag/broken.jpg")
        try Data([0xFF, 0xD8, 0xFF, 0x00, 0x01]).write(to: broken)
        let undecodable = try runEdgenas(["train", architecture.path, "--data", folder.path, "--batch-size", "2", "--out", out])
        #expect(undecodable.status == 64)
        #expect(undecodable.standardError.contains("cannot decode image \(broken.path)"), "\(undecodable.standardError)")
        try FileManager.default.removeItem(at: broken)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("train/Zebra"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: folder.appendingPathComponent("train/Bag").appendingPathComponent(
            try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("train/Bag").path)[0]),
                                         to: folder.appendingPathComponent("train/Zebra/z.png"))
        let classes = try runEdgenas(["train", architecture.path, "--data", folder.path, "--batch-size", "2", "--out", out])
        #expect(classes.status == 64)
        #expect(classes.standardError.contains("has 5 classes but the architecture expects 4"), "\(classes.standardError)")

        let untrained = directory.appendingPathComponent("untrained.onnx")
        #expect(try runEdgenas(["export", architecture.path, "--out", untrained.path]).status == 0)
        let noRecord = try runEdgenas(["predict", untrained.path, broken.path])
        #expect(noRecord.status == 64)
        #expect(noRecord.standardError.contains("has no edgenas.preprocessing entry"), "\(noRecord.standardError)")
    }
}

/// `train` keeps a user's work: killed after an epoch it resumes to the same weights, and a
/// run that stopped improving stops early.
@Suite(.serialized) struct TrainResumeTests {
    @Test func aKilledRunResumesToTheUninterruptedWeights() throws {
        let directory = try makeTemporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        let architecture = directory.appendingPathComponent("arch.json")
        try Data(FakeMNIST.tinyArchitecture.utf8).write(to: architecture)
        // Enough images for epochs long enough (about a second) to be killed in.
        let data = try FakeMNIST.write(into: directory.appendingPathComponent("data"), trainCount: 6_000, testCount: 64)
        let common = ["train", architecture.path, "--data", data.path, "--batch-size", "8", "--threads", "1"]
        let whole = directory.appendingPathComponent("whole.ckpt")
        #expect(try runEdgenas(common + ["--epochs", "4", "--out", whole.path]).status == 0)

        let killed = directory.appendingPathComponent("killed.ckpt")
        // Killed once epoch 3 has started: epoch 2 (or 3, on a slow machine) is the last one saved.
        let first = try runEdgenas(common + ["--epochs", "4", "--out", killed.path], interruptWhen: { $0.contains("epoch 3/4") })
        #expect(first.status != 0, "the run ended before it was killed")
        #expect(FileManager.default.fileExists(atPath: killed.path + ".resume"))

        let again = try runEdgenas(common + ["--epochs", "4", "--out", killed.path])
        #expect(again.status == 64)
        let saved = try #require(["2", "3"].first { again.standardError.contains("holds epoch \($0) of an interrupted run: pass --resume") },
                                 "\(again.standardError)")
        let changed = try runEdgenas(common + ["--epochs", "5", "--out", killed.path, "--resume"])
        #expect(changed.status == 64)
        #expect(changed.standardError.contains("epochs: was 4, now 5"), "\(changed.standardError)")

        let resumed = try runEdgenas(common + ["--epochs", "4", "--out", killed.path, "--resume"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(resumed.standardOutput.contains("resuming after epoch \(saved) of 4"), "\(resumed.standardOutput)")
        #expect(!resumed.standardOutput.contains("epoch 1:"), "the saved epochs are not trained again")
        #expect(try Data(contentsOf: killed) == Data(contentsOf: whole), "the resumed weights are the uninterrupted run's")
        #expect(!FileManager.default.fileExists(atPath: killed.path + ".resume"))
        #expect(try String(contentsOfFile: killed.path + ".svg", encoding: .utf8).hasPrefix("<svg"))
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: killed.path + ".json"))) as! [String: Any]
        #expect((record["validation_accuracies"] as? [Double])?.count == 4)
        #expect(try runEdgenas(common + ["--epochs", "4", "--out", killed.path, "--resume"]).standardError.contains("no interrupted run"))
    }

    @Test func patienceStopsARunThatNoLongerImproves() throws {
        let directory = try makeTemporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (data, architecture) = try FakeMNIST.writeTrainingInputs(into: directory)
        // A learning rate this small leaves the validation accuracy where it started.
        let result = try runEdgenas(["train", architecture.path, "--data", data.path, "--batch-size", "16", "--threads", "1",
                                     "--epochs", "6", "--learning-rate", "1e-12", "--patience", "2",
                                     "--out", directory.appendingPathComponent("m.ckpt").path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("stopping early: validation accuracy has not improved for 2 epoch(s) since epoch 1"),
                "\(result.standardOutput)")
        #expect(!result.standardOutput.contains("epoch 4:"))
        #expect(result.standardOutput.contains("(best, epoch 1 of 3)"), "\(result.standardOutput)")
    }
}
