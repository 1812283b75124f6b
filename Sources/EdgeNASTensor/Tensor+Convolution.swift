import CEdgeKernels
import COpenBLAS

// 2-D convolution (im2col + sgemm, with direct depthwise and 1×1 paths) and the
// depthwise causal 1-D convolution over tokens used by Mamba.

/// Geometry of one 2-D convolution.
struct ConvolutionGeometry {
    let batch, inChannels, height, width: Int
    let outChannels, kernelHeight, kernelWidth: Int
    let stride, padding, groups: Int
    let outHeight, outWidth: Int

    var inPerGroup: Int { inChannels / groups }
    var outPerGroup: Int { outChannels / groups }
    /// Rows of the im2col matrix of one group: (C/g)·kh·kw.
    var patchSize: Int { inPerGroup * kernelHeight * kernelWidth }
    var inPlane: Int { height * width }
    var outPlane: Int { outHeight * outWidth }
    var isPointwise: Bool { kernelHeight == 1 && kernelWidth == 1 && stride == 1 && padding == 0 }
    var isDepthwise: Bool { groups == inChannels && groups == outChannels && groups > 1 }
}

/// Output size of a convolution: ⌊(in + 2·padding − kernel) / stride⌋ + 1.
public func convolutionOutputSize(_ size: Int, kernel: Int, stride: Int, padding: Int) -> Int {
    (size + 2 * padding - kernel) / stride + 1
}

/// 2-D convolution of `x` [N, C, H, W] with `weight` [O, C/groups, kh, kw] and optional
/// `bias` [O], zero padding `padding` on every side.
///
/// y[n, o, i, j] = bias[o] + Σ_{c, u, v} weight[o, c, u, v] · x[n, g·C/groups + c, i·s + u − p, j·s + v − p]
/// where g is the group of o.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                   stride: Int = 1, padding: Int = 0, groups: Int = 1) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4, "conv2d: input \(x.shape), weight \(weight.shape)")
    let (batch, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let outChannels = weight.shape[0]
    precondition(groups >= 1 && channels % groups == 0 && outChannels % groups == 0 && weight.shape[1] == channels / groups,
                 "conv2d: input \(x.shape), weight \(weight.shape), groups \(groups)")
    precondition(stride >= 1 && padding >= 0, "conv2d: stride \(stride), padding \(padding)")
    if let bias { precondition(bias.shape == [outChannels], "conv2d: bias \(bias.shape) vs weight \(weight.shape)") }
    let geometry = ConvolutionGeometry(
        batch: batch, inChannels: channels, height: height, width: width,
        outChannels: outChannels, kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
        stride: stride, padding: padding, groups: groups,
        outHeight: convolutionOutputSize(height, kernel: weight.shape[2], stride: stride, padding: padding),
        outWidth: convolutionOutputSize(width, kernel: weight.shape[3], stride: stride, padding: padding))
    precondition(geometry.outHeight > 0 && geometry.outWidth > 0,
                 "conv2d: input \(x.shape) too small for kernel \(weight.shape[2])×\(weight.shape[3]) with padding \(padding)")
    let outputShape = [batch, outChannels, geometry.outHeight, geometry.outWidth]
    let values: [Float] = x.storage.withUnsafeBufferPointer { px in
        weight.storage.withUnsafeBufferPointer { pw in
            makeStorage(outputShape.reduce(1, *)) { py in
                if geometry.isDepthwise {
                    depthwiseForward(geometry, x: px.baseAddress!, weight: pw.baseAddress!, y: py)
                } else {
                    gemmConvolutionForward(geometry, x: px.baseAddress!, weight: pw.baseAddress!, y: py)
                }
                if let bias {
                    bias.storage.withUnsafeBufferPointer { pb in
                        addChannelBias(py, bias: pb.baseAddress!, batch: batch, channels: outChannels,
                                       plane: geometry.outPlane)
                    }
                }
            }
        }
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor(shape: outputShape, storage: values, inputs: inputs) { result in
        result.gradient!.withUnsafeBufferPointer { g in
            let g = g.baseAddress!
            x.storage.withUnsafeBufferPointer { px in
                weight.storage.withUnsafeBufferPointer { pw in
                    let dw: UnsafeMutablePointer<Float>? = weight.requiresGradient ? weight.gradientPointer().pointer : nil
                    if geometry.isDepthwise {
                        // The depthwise kernel writes every input-gradient value: a fresh buffer needs no zero fill.
                        let dx = x.requiresGradient ? x.gradientPointer(zeroFilled: false) : nil
                        depthwiseBackward(geometry, x: px.baseAddress!, weight: pw.baseAddress!, dy: g,
                                          dx: dx?.pointer, dxIsFresh: dx?.isFresh ?? false, dw: dw)
                    } else {
                        let dx: UnsafeMutablePointer<Float>? = x.requiresGradient ? x.gradientPointer().pointer : nil
                        gemmConvolutionBackward(geometry, x: px.baseAddress!, weight: pw.baseAddress!, dy: g, dx: dx, dw: dw)
                    }
                }
            }
            if let bias, bias.requiresGradient {
                bias.accumulateGradient { db in
                    for n in 0..<batch {
                        for o in 0..<outChannels {
                            let plane = g + (n * outChannels + o) * geometry.outPlane
                            var total: Float = 0
                            for j in 0..<geometry.outPlane { total += plane[j] }
                            db[o] += total
                        }
                    }
                }
            }
        }
    }
}

private func addChannelBias(_ y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                            batch: Int, channels: Int, plane: Int) {
    for n in 0..<batch {
        for c in 0..<channels {
            let row = y + (n * channels + c) * plane
            let value = bias[c]
            for j in 0..<plane { row[j] += value }
        }
    }
}

// MARK: - General convolution through im2col + GEMM

/// Output columns j whose input column j·s + v − p lies inside [0, W), as a half-open range.
@inline(__always)
private func insideColumns(_ g: ConvolutionGeometry, kernelColumn v: Int) -> (Int, Int) {
    let (s, p, wo) = (g.stride, g.padding, g.outWidth)
    let firstJ = min(wo, max(0, (p - v + s - 1) / s))
    // Integer division rounds toward zero: a negative span means no column is inside.
    let span = g.width - 1 + p - v
    let lastJ = span < 0 ? firstJ : max(firstJ, min(wo, span / s + 1))
    return (firstJ, lastJ)
}

/// Writes the im2col matrix of channels [firstChannel, firstChannel + C/g) of one image:
/// row (c·kh + u)·kw + v, column i·Wo + j holds x[c, i·s + u − p, j·s + v − p] (0 outside).
private func im2col(_ g: ConvolutionGeometry, image: UnsafePointer<Float>, firstChannel: Int,
                    columns: UnsafeMutablePointer<Float>) {
    let (kh, kw, s, p) = (g.kernelHeight, g.kernelWidth, g.stride, g.padding)
    let (ho, wo) = (g.outHeight, g.outWidth)
    for c in 0..<g.inPerGroup {
        let plane = image + (firstChannel + c) * g.inPlane
        for u in 0..<kh {
            for v in 0..<kw {
                let row = columns + ((c * kh + u) * kw + v) * g.outPlane
                // Output columns j whose input column j·s + v − p is inside [0, W).
                let (firstJ, lastJ) = insideColumns(g, kernelColumn: v)
                for i in 0..<ho {
                    let inputRow = i * s + u - p
                    let out = row + i * wo
                    if inputRow < 0 || inputRow >= g.height {
                        out.update(repeating: 0, count: wo)
                        continue
                    }
                    let source = plane + inputRow * g.width - p + v
                    for j in 0..<firstJ { out[j] = 0 }
                    if s == 1 {
                        (out + firstJ).update(from: source + firstJ, count: lastJ - firstJ)
                    } else {
                        for j in firstJ..<lastJ { out[j] = source[j * s] }
                    }
                    for j in lastJ..<wo { out[j] = 0 }
                }
            }
        }
    }
}

/// The adjoint of `im2col`: adds each column entry back into its input pixel.
private func col2imAdd(_ g: ConvolutionGeometry, columns: UnsafePointer<Float>, firstChannel: Int,
                       image: UnsafeMutablePointer<Float>) {
    let (kh, kw, s, p) = (g.kernelHeight, g.kernelWidth, g.stride, g.padding)
    let (ho, wo) = (g.outHeight, g.outWidth)
    for c in 0..<g.inPerGroup {
        let plane = image + (firstChannel + c) * g.inPlane
        for u in 0..<kh {
            for v in 0..<kw {
                let row = columns + ((c * kh + u) * kw + v) * g.outPlane
                let (firstJ, lastJ) = insideColumns(g, kernelColumn: v)
                for i in 0..<ho {
                    let inputRow = i * s + u - p
                    if inputRow < 0 || inputRow >= g.height { continue }
                    let target = plane + inputRow * g.width - p + v
                    let source = row + i * wo
                    if s == 1 {
                        for j in firstJ..<lastJ { target[j] += source[j] }
                    } else {
                        for j in firstJ..<lastJ { target[j * s] += source[j] }
                    }
                }
            }
        }
    }
}

private func gemmConvolutionForward(_ g: ConvolutionGeometry, x: UnsafePointer<Float>,
                                    weight: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    let perImage = g.batch >= Compute.threadCount
    let (x, weight, y) = (UnsafeSendable(x), UnsafeSendable(weight), UnsafeSendable(y))
    let work: (Range<Int>, Bool) -> Void = { images, innerParallel in
        var columns = [Float](repeating: 0, count: g.isPointwise ? 0 : g.patchSize * g.outPlane)
        columns.withUnsafeMutableBufferPointer { columnBuffer in
            for n in images {
                let image = x.value + n * g.inChannels * g.inPlane
                for group in 0..<g.groups {
                    let source: UnsafePointer<Float>
                    if g.isPointwise {
                        source = image + group * g.inPerGroup * g.inPlane
                    } else {
                        im2col(g, image: image, firstChannel: group * g.inPerGroup, columns: columnBuffer.baseAddress!)
                        source = UnsafePointer(columnBuffer.baseAddress!)
                    }
                    gemm(transposeA: false, transposeB: false, m: g.outPerGroup, n: g.outPlane, k: g.patchSize,
                         a: weight.value + group * g.outPerGroup * g.patchSize, lda: g.patchSize,
                         b: source, ldb: g.outPlane, beta: 0,
                         c: y.value + (n * g.outChannels + group * g.outPerGroup) * g.outPlane, ldc: g.outPlane,
                         parallel: innerParallel)
                }
            }
        }
    }
    if perImage {
        parallelChunks(g.batch) { work($0, false) }
    } else {
        work(0..<g.batch, true)
    }
}

private func gemmConvolutionBackward(_ g: ConvolutionGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                     dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                                     dw: UnsafeMutablePointer<Float>?) {
    let weightCount = g.outChannels * g.patchSize
    // Read the thread count once: the partial buffers below are sized by it.
    let threads = Compute.threadCount
    let perImage = g.batch >= threads
    let workers = perImage ? threads : 1
    // Each worker sums its images' weight gradients privately; added together at the end.
    var partialWeightGradients = [Float](repeating: 0, count: dw == nil ? 0 : workers * weightCount)
    let (x, weight, dy) = (UnsafeSendable(x), UnsafeSendable(weight), UnsafeSendable(dy))
    let dx = UnsafeSendable(dx)
    partialWeightGradients.withUnsafeMutableBufferPointer { partials in
        let partials = UnsafeSendable(partials.baseAddress)
        let work: (Int, Range<Int>, Bool) -> Void = { worker, images, innerParallel in
            var columns = [Float](repeating: 0, count: g.patchSize * g.outPlane)
            columns.withUnsafeMutableBufferPointer { columnBuffer in
                let columnPointer = columnBuffer.baseAddress!
                for n in images {
                    let image = x.value + n * g.inChannels * g.inPlane
                    for group in 0..<g.groups {
                        let outputGradient = dy.value + (n * g.outChannels + group * g.outPerGroup) * g.outPlane
                        let groupWeight = weight.value + group * g.outPerGroup * g.patchSize
                        if let partial = partials.value {
                            let source: UnsafePointer<Float>
                            if g.isPointwise {
                                source = image + group * g.inPerGroup * g.inPlane
                            } else {
                                im2col(g, image: image, firstChannel: group * g.inPerGroup, columns: columnPointer)
                                source = UnsafePointer(columnPointer)
                            }
                            // dW_g += dY_g · colᵀ
                            gemm(transposeA: false, transposeB: true, m: g.outPerGroup, n: g.patchSize, k: g.outPlane,
                                 a: outputGradient, lda: g.outPlane, b: source, ldb: g.outPlane, beta: 1,
                                 c: partial + worker * weightCount + group * g.outPerGroup * g.patchSize,
                                 ldc: g.patchSize, parallel: innerParallel)
                        }
                        if let inputGradient = dx.value {
                            let imageGradient = inputGradient + n * g.inChannels * g.inPlane
                            if g.isPointwise {
                                // dX_g += W_gᵀ · dY_g directly.
                                gemm(transposeA: true, transposeB: false, m: g.inPerGroup, n: g.outPlane, k: g.outPerGroup,
                                     a: groupWeight, lda: g.patchSize, b: outputGradient, ldb: g.outPlane, beta: 1,
                                     c: imageGradient + group * g.inPerGroup * g.inPlane, ldc: g.outPlane,
                                     parallel: innerParallel)
                            } else {
                                gemm(transposeA: true, transposeB: false, m: g.patchSize, n: g.outPlane, k: g.outPerGroup,
                                     a: groupWeight, lda: g.patchSize, b: outputGradient, ldb: g.outPlane, beta: 0,
                                     c: columnPointer, ldc: g.outPlane, parallel: innerParallel)
                                col2imAdd(g, columns: columnPointer, firstChannel: group * g.inPerGroup, image: imageGradient)
                            }
                        }
                    }
                }
            }
        }
        if perImage {
            _ = parallelWorkers(g.batch, maximumWorkers: workers) { worker, images in work(worker, images, false) }
        } else {
            work(0, 0..<g.batch, true)
        }
    }
    if let dw {
        partialWeightGradients.withUnsafeBufferPointer { partials in
            for worker in 0..<workers {
                let partial = partials.baseAddress! + worker * weightCount
                for j in 0..<weightCount { dw[j] += partial[j] }
            }
        }
    }
}

// MARK: - Depthwise convolution, direct

/// Polyphase layout of one channel's zero-padded planes, for a batch of images at once.
///
/// Each padded plane (H+2p)×(W+2p) is split into s×s phase planes of Hq×Wq values,
/// phase[a][b][r][c] = padded[r·s + a][c·s + b], and the images of a chunk are stacked
/// inside each phase (image n at n·Hq·Wq). Output (n, i, j) with kernel tap (u, v) then
/// reads phase[u mod s][v mod s] at n·Hq·Wq + (i + u/s)·Wq + j + v/s, so for each tap the
/// whole chunk's output, laid out with row stride Wq and plane stride Hq·Wq, is a shifted
/// copy of one contiguous buffer: the convolution becomes a "tap correlation" of long
/// vectors (`edgenas_tap_correlate`). Rows i ≥ Ho and columns j ≥ Wo of that extended
/// layout are scratch; output gradients are zero there, so they contribute nothing.
private struct DepthwiseLayout {
    let stride, padding, height, width, kernelHeight, kernelWidth: Int
    let phaseHeight, phaseWidth, outHeight, outWidth: Int
    /// Images processed together (bounded so that scratch stays cache-sized).
    let imagesPerChunk: Int

    var planeBlock: Int { phaseHeight * phaseWidth }
    /// Values of one phase for a full chunk; also the length of the extended output.
    var phaseSpan: Int { imagesPerChunk * planeBlock }
    /// Largest in-phase tap shift: reads past the last phase reach this far.
    var maximumShift: Int { ((kernelHeight - 1) / stride) * phaseWidth + (kernelWidth - 1) / stride }
    /// Scratch floats for all phases plus the tail that shifted reads touch.
    var phaseScratchCount: Int { stride * stride * phaseSpan + maximumShift + 1 }

    init(_ g: ConvolutionGeometry) {
        stride = g.stride
        padding = g.padding
        height = g.height
        width = g.width
        kernelHeight = g.kernelHeight
        kernelWidth = g.kernelWidth
        phaseHeight = (g.height + 2 * g.padding + g.stride - 1) / g.stride
        phaseWidth = (g.width + 2 * g.padding + g.stride - 1) / g.stride
        outHeight = g.outHeight
        outWidth = g.outWidth
        imagesPerChunk = max(1, min(g.batch, 16_384 / (phaseHeight * phaseWidth)))
    }

    /// Start of phase (a, b) in the scratch.
    @inline(__always)
    func phaseBase(_ a: Int, _ b: Int) -> Int { (a * stride + b) * phaseSpan }

    /// Offset of every tap (u, v), row-major, from the start of the scratch.
    var tapOffsets: [Int] {
        var offsets: [Int] = []
        for u in 0..<kernelHeight {
            for v in 0..<kernelWidth {
                offsets.append(phaseBase(u % stride, v % stride) + (u / stride) * phaseWidth + v / stride)
            }
        }
        return offsets
    }

    /// Scatters `count` planes (image stride `imageStride`) into phase scratch.
    ///
    /// Every call writes the same interior positions, so the padding and the gaps keep the
    /// zeros of the first fill (`zeroedScratch()`); a short last chunk leaves earlier images'
    /// values behind its last image, which only ever meet zero gradients or discarded outputs.
    func scatter(_ planes: UnsafePointer<Float>, imageStride: Int, count: Int, into phases: UnsafeMutablePointer<Float>) {
        for image in 0..<count {
            edgenas_polyphase_scatter(planes + image * imageStride, Int32(height), Int32(width), Int32(padding),
                                      Int32(stride), phases, phaseSpan, Int32(phaseWidth), image * planeBlock)
        }
    }

    /// A zero-filled phase scratch buffer, to deallocate after use.
    func zeroedScratch() -> UnsafeMutablePointer<Float> {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: phaseScratchCount)
        buffer.initialize(repeating: 0, count: phaseScratchCount)
        return buffer
    }

    /// Writes (or adds, when `accumulate`) phase-scratch gradients into `count` input-gradient planes.
    func gather(_ phases: UnsafePointer<Float>, into planes: UnsafeMutablePointer<Float>, imageStride: Int, count: Int,
                accumulate: Bool) {
        for image in 0..<count {
            edgenas_polyphase_gather(phases, Int32(height), Int32(width), Int32(padding), Int32(stride), phaseSpan,
                                     Int32(phaseWidth), image * planeBlock, planes + image * imageStride,
                                     accumulate ? 1 : 0)
        }
    }
}

private func depthwiseForward(_ g: ConvolutionGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              y: UnsafeMutablePointer<Float>) {
    let layout = DepthwiseLayout(g)
    let taps = g.kernelHeight * g.kernelWidth
    let offsets = layout.tapOffsets
    let (x, weight, y) = (UnsafeSendable(x), UnsafeSendable(weight), UnsafeSendable(y))
    parallelChunks(g.inChannels) { channels in
        let phases = layout.zeroedScratch()
        let extended = UnsafeMutablePointer<Float>.allocate(capacity: layout.phaseSpan)
        defer { phases.deallocate(); extended.deallocate() }
        offsets.withUnsafeBufferPointer { offsets in
            for channel in channels {
                for first in stride(from: 0, to: g.batch, by: layout.imagesPerChunk) {
                    let count = min(layout.imagesPerChunk, g.batch - first)
                    let planeStride = g.inChannels * g.inPlane
                    layout.scatter(x.value + (first * g.inChannels + channel) * g.inPlane, imageStride: planeStride,
                                   count: count, into: phases)
                    edgenas_tap_correlate(extended, phases, offsets.baseAddress!, weight.value + channel * taps,
                                          Int32(taps), count * layout.planeBlock, 0)
                    edgenas_copy_rows(y.value + (first * g.outChannels + channel) * g.outPlane, g.outChannels * g.outPlane,
                                      layout.outWidth, extended, layout.planeBlock, layout.phaseWidth,
                                      Int32(count), Int32(layout.outHeight), Int32(layout.outWidth))
                }
            }
        }
    }
}

/// `dxIsFresh`: `dx` holds no values yet, so gradients are written rather than added.
private func depthwiseBackward(_ g: ConvolutionGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dxIsFresh: Bool,
                               dw: UnsafeMutablePointer<Float>?) {
    let layout = DepthwiseLayout(g)
    let (kh, kw, s) = (g.kernelHeight, g.kernelWidth, g.stride)
    let taps = kh * kw
    let offsets = layout.tapOffsets
    // The input gradient, phase by phase, is a tap correlation of the output gradient with
    // the taps of that phase at negative shifts; `prefix` zeros in front make those reads valid.
    let prefix = layout.maximumShift
    let phaseTaps: [[(tap: Int, shift: Int)]] = (0..<(s * s)).map { phase in
        (0..<taps).compactMap { tap in
            let (u, v) = (tap / kw, tap % kw)
            guard (u % s) * s + v % s == phase else { return nil }
            return (tap, -((u / s) * layout.phaseWidth + v / s))
        }
    }
    let (x, weight, dy) = (UnsafeSendable(x), UnsafeSendable(weight), UnsafeSendable(dy))
    let (dx, dw) = (UnsafeSendable(dx), UnsafeSendable(dw))
    parallelChunks(g.inChannels) { channels in
        let scratch = dw.value != nil ? layout.zeroedScratch() : nil
        let phaseGradient = layout.zeroedScratch()
        let paddedGradient = UnsafeMutablePointer<Float>.allocate(capacity: prefix + layout.phaseSpan)
        defer { scratch?.deallocate(); phaseGradient.deallocate(); paddedGradient.deallocate() }
        // Only valid output positions are ever written: the prefix and scratch rows/columns stay zero.
        paddedGradient.update(repeating: 0, count: prefix + layout.phaseSpan)
        let extendedGradient = paddedGradient + prefix
        var phaseWeights = [Float](repeating: 0, count: taps)
        var phaseShifts = [Int](repeating: 0, count: taps)
        offsets.withUnsafeBufferPointer { offsets in
            for channel in channels {
                let w = weight.value + channel * taps
                for first in stride(from: 0, to: g.batch, by: layout.imagesPerChunk) {
                    let count = min(layout.imagesPerChunk, g.batch - first)
                    let planeStride = g.inChannels * g.inPlane
                    edgenas_copy_rows(extendedGradient, layout.planeBlock, layout.phaseWidth,
                                      dy.value + (first * g.outChannels + channel) * g.outPlane, g.outChannels * g.outPlane,
                                      layout.outWidth, Int32(count), Int32(layout.outHeight), Int32(layout.outWidth))
                    // A short last chunk must not see the previous chunk's gradients.
                    let span = count * layout.planeBlock
                    if count < layout.imagesPerChunk {
                        (extendedGradient + span).update(repeating: 0, count: layout.phaseSpan - span)
                    }
                    if let weightGradient = dw.value {
                        let phases = scratch!
                        layout.scatter(x.value + (first * g.inChannels + channel) * g.inPlane, imageStride: planeStride,
                                       count: count, into: phases)
                        edgenas_tap_dot(weightGradient + channel * taps, extendedGradient, phases, offsets.baseAddress!,
                                        Int32(taps), span)
                    }
                    if let inputGradient = dx.value {
                        for (phase, entries) in phaseTaps.enumerated() {
                            if entries.isEmpty {  // kernel smaller than the stride: nothing lands here
                                (phaseGradient + phase * layout.phaseSpan).update(repeating: 0, count: layout.phaseSpan)
                                continue
                            }
                            for (index, entry) in entries.enumerated() {
                                phaseWeights[index] = w[entry.tap]
                                phaseShifts[index] = entry.shift
                            }
                            edgenas_tap_correlate(phaseGradient + phase * layout.phaseSpan, extendedGradient, phaseShifts,
                                                  phaseWeights, Int32(entries.count), span, 0)
                        }
                        layout.gather(phaseGradient, into: inputGradient + (first * g.inChannels + channel) * g.inPlane,
                                      imageStride: planeStride, count: count, accumulate: !dxIsFresh)
                    }
                }
            }
        }
    }
}

// MARK: - Depthwise causal 1-D convolution over tokens

/// Depthwise causal convolution along the token axis of `x` [B, T, E] with `weight` [E, k]
/// and `bias` [E], left-padded by k − 1 zeros:
///
/// y[b, t, e] = bias[e] + Σ_{j<k} weight[e, j] · x[b, t + j − (k − 1), e].
public func causalDepthwiseConv1d(_ x: Tensor, weight: Tensor, bias: Tensor) -> Tensor {
    precondition(x.rank == 3 && weight.rank == 2 && weight.shape[0] == x.shape[2] && bias.shape == [x.shape[2]],
                 "causalDepthwiseConv1d: input \(x.shape), weight \(weight.shape), bias \(bias.shape)")
    let (batch, tokens, channels) = (x.shape[0], x.shape[1], x.shape[2])
    let k = weight.shape[1]
    let sampleSize = tokens * channels
    // Weights transposed to [k, E] so that the kernels' inner loops run over contiguous channels.
    let transposedWeight: [Float] = (0..<(k * channels)).map { index in weight.storage[(index % channels) * k + index / channels] }
    // Samples are independent: each worker convolves whole samples.
    let values = x.storage.withUnsafeBufferPointer { px in
        bias.storage.withUnsafeBufferPointer { pb in
            transposedWeight.withUnsafeBufferPointer { pw in
                makeStorage(x.count) { py in
                    let (px, pb, pw, py) = (UnsafeSendable(px.baseAddress!), UnsafeSendable(pb.baseAddress!),
                                            UnsafeSendable(pw.baseAddress!), UnsafeSendable(py))
                    parallelChunks(batch) { samples in
                        for b in samples {
                            edgenas_causal_conv1d_forward(px.value + b * sampleSize, pw.value, pb.value,
                                                          py.value + b * sampleSize, Int32(tokens), Int32(channels), Int32(k))
                        }
                    }
                }
            }
        }
    }
    return Tensor(shape: x.shape, storage: values, inputs: [x, weight, bias]) { result in
        result.gradient!.withUnsafeBufferPointer { g in
            let g = UnsafeSendable(g.baseAddress!)
            if x.requiresGradient {
                x.accumulateGradient { dx in
                    transposedWeight.withUnsafeBufferPointer { pw in
                        let (dx, pw) = (UnsafeSendable(dx), UnsafeSendable(pw.baseAddress!))
                        parallelChunks(batch) { samples in
                            for b in samples {
                                edgenas_causal_conv1d_backward(nil, pw.value, g.value + b * sampleSize, dx.value + b * sampleSize,
                                                               nil, nil, Int32(tokens), Int32(channels), Int32(k))
                            }
                        }
                    }
                }
            }
            guard weight.requiresGradient || bias.requiresGradient else { return }
            // Weight ([k, E], transposed) and bias gradients: one partial sum per worker, added
            // together afterwards.
            let partialSize = (k + 1) * channels
            let maximumWorkers = Compute.threadCount
            var partials = [Float](repeating: 0, count: maximumWorkers * partialSize)
            let used = x.storage.withUnsafeBufferPointer { px in
                partials.withUnsafeMutableBufferPointer { pp in
                    let (px, pp) = (UnsafeSendable(px.baseAddress!), UnsafeSendable(pp.baseAddress!))
                    return parallelWorkers(batch, maximumWorkers: maximumWorkers) { worker, samples in
                        let partial = pp.value + worker * partialSize
                        for b in samples {
                            edgenas_causal_conv1d_backward(px.value + b * sampleSize, nil, g.value + b * sampleSize, nil,
                                                           partial, partial + k * channels,
                                                           Int32(tokens), Int32(channels), Int32(k))
                        }
                    }
                }
            }
            for worker in 1..<max(1, used) {
                for j in 0..<partialSize { partials[j] += partials[worker * partialSize + j] }
            }
            if weight.requiresGradient {
                weight.accumulateGradient { dw in
                    for e in 0..<channels {
                        for j in 0..<k { dw[e * k + j] += partials[j * channels + e] }
                    }
                }
            }
            if bias.requiresGradient {
                bias.accumulateGradient { db in
                    for e in 0..<channels { db[e] += partials[k * channels + e] }
                }
            }
        }
    }
}
