import EdgeNASCore
import EdgeNASSearch
import Foundation
import Testing

struct SearchRequestTests {
    static func newRun(_ request: SearchRequest) -> SearchSettings {
        SearchSettings(newRun: request, space: tinySpace, maxLatencyMilliseconds: request.maxLatencyMilliseconds, runID: "0123abcd",
                       imagesPath: "/data/images", exportPath: "/exports/run-0123abcd.onnx")
    }

    @Test func aNewRunTakesWhatWasGivenAndDefaultsForTheRest() {
        let settings = Self.newRun(SearchRequest(space: tinySpace, candidateCount: 7, trainEpochs: 2))
        #expect(settings.candidateCount == 7 && settings.trainEpochs == 2)
        #expect(settings.budgetSeconds == SearchSettings.Defaults.budgetSeconds && settings.scorer == "pipeline")
        #expect(settings.finalStageShare == SearchSettings.Defaults.finalStageShare && settings.capacityPriorWeight != nil)
        #expect(settings.imagesPath == "/data/images" && settings.exportPath == "/exports/run-0123abcd.onnx")
        #expect(settings.runID == "0123abcd" && settings.attemptsPerCandidate == 2000)
    }

    @Test func onlyGivenOptionsThatDifferConflictAllOfThemInOneList() {
        let stored = Self.newRun(SearchRequest(space: tinySpace, maxParams: 5000, candidateCount: 7, scorer: "synflow"))
        #expect(stored.conflicts(with: SearchRequest()).isEmpty)
        // The defaults given explicitly are the run's own values: no change.
        #expect(stored.conflicts(with: SearchRequest(space: tinySpace, maxParams: 5000, budgetSeconds: 1200, candidateCount: 7,
                                                     seed: 0, scorer: "synflow", trainEpochs: 0)).isEmpty)
        #expect(stored.conflicts(with: SearchRequest(maxParams: 6000, maxLatencyQuantile: 0.5, candidateCount: 8, scorer: "naswot",
                                                     imagesPath: "/other", trainEpochs: 1, exportPath: "/x.onnx"))
                == ["--max-params (the run has 5000, given 6000)", "--max-latency-quantile (the run has none, given 0.5)",
                    "--candidates (the run has 7, given 8)", "--scorer (the run has synflow, given naswot)",
                    "--images (the run has /data/images, given /other)", "--train-epochs (the run has 0, given 1)",
                    "--export (the run has /exports/run-0123abcd.onnx, given /x.onnx)"])
        // Random search never reads --population or --tournament.
        #expect(stored.conflicts(with: SearchRequest(population: 30, tournament: 9)).isEmpty)
    }

    @Test func finalStageOptionsConflictOnlyForTheScorersThatReadThem() {
        let pipeline = Self.newRun(SearchRequest(space: tinySpace, scorer: "pipeline"))
        #expect(pipeline.conflicts(with: SearchRequest(finalStageShare: SearchSettings.Defaults.finalStageShare)).isEmpty)
        #expect(pipeline.conflicts(with: SearchRequest(finalStageShare: 0.5, capacityPriorWeight: 3))
                == ["--final-stage-share (the run has \(SearchSettings.Defaults.finalStageShare), given 0.5)",
                    "--prior-weight (the run has \(SearchSettings.Defaults.capacityPriorWeight), given 3.0)"])
        let proxy = Self.newRun(SearchRequest(space: tinySpace, scorer: "synflow"))
        #expect(proxy.finalStageShare == nil && proxy.capacityPriorWeight == nil)
        #expect(proxy.conflicts(with: SearchRequest(finalStageShare: 0.5, capacityPriorWeight: 3)).isEmpty)
    }

    /// A run's scores share one matrix precision: resuming at another is a conflict, and a
    /// run from before the option existed scored in fp32.
    @Test func theMatrixPrecisionIsPartOfTheRun() {
        let float32 = Self.newRun(SearchRequest(space: tinySpace))
        #expect(float32.matmulPrecision == "fp32")
        #expect(float32.conflicts(with: SearchRequest(matmulPrecision: "fp32")).isEmpty)
        let bfloat16 = Self.newRun(SearchRequest(space: tinySpace, matmulPrecision: "bf16"))
        #expect(bfloat16.conflicts(with: SearchRequest(matmulPrecision: "fp32")) == ["--matmul-precision (the run has bf16, given fp32)"])
        #expect(bfloat16.differences(from: float32) == ["--matmul-precision (the run has bf16, given fp32)"])
        var legacy = float32
        legacy.matmulPrecision = nil
        #expect(legacy.conflicts(with: SearchRequest(matmulPrecision: "bf16")) == ["--matmul-precision (the run has fp32, given bf16)"])
        #expect(legacy.completed(from: SearchRequest(), imagesPath: "/d", legacyExportPath: "/e.onnx").matmulPrecision == "fp32")
    }

    @Test func aRunFromAnOlderVersionAdoptsWhatItDidNotRecord() {
        // As decoded from a run database written before these fields existed.
        var legacy = Self.newRun(SearchRequest(space: tinySpace))
        (legacy.runID, legacy.attemptsPerCandidate, legacy.imagesPath, legacy.trainEpochs, legacy.exportPath) = (nil, nil, nil, nil, nil)
        #expect(legacy.conflicts(with: SearchRequest(trainEpochs: 3, exportPath: "/given.onnx")).isEmpty)
        let completed = legacy.completed(from: SearchRequest(trainEpochs: 3), imagesPath: "/default", legacyExportPath: "/exports/run.onnx")
        #expect(completed.trainEpochs == 3 && completed.imagesPath == "/default" && completed.exportPath == "/exports/run.onnx")
        let encoded = try! JSONEncoder().encode(legacy)
        #expect(try! JSONDecoder().decode(SearchSettings.self, from: encoded) == legacy)
    }
}
