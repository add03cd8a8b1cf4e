using System.Diagnostics;
using System.Globalization;
using Inference.Server.Core;
using Inference.Server.Scheduling;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// The GPU hot path of one instance of a batching model whose rows have fixed shapes. Allocated once when the
/// instance is created: per input and output one page-locked host staging buffer and one device buffer of
/// max_batch_size rows. Per batch size, one <see cref="OrtIoBinding"/> binds views of those device buffers (made on
/// first use, then reused; CUDA graphs need these fixed addresses). A batch is gathered into the host staging
/// buffers (by several threads when it is large, see <see cref="BatchGatherer"/>), copied in with one
/// <c>cudaMemcpyAsync</c> per gathered segment on the instance's stream (each segment's DMA overlaps the gathering
/// of the next), run (ONNX Runtime computes
/// on the same stream, so nothing waits in between), copied out with one <c>cudaMemcpyAsync</c> per output, and the
/// stream is synchronised once. With <see cref="GpuIoCopy.Ort"/> the staging buffers are bound instead and ONNX
/// Runtime copies. With CUDA graphs, each size of the <see cref="CudaGraphPlan"/> is captured on the first run, on the
/// executing thread (<see cref="Prepare"/>), and a partial batch may be padded up to a captured size.
/// With conv+bias fusion (<see cref="OnnxAcceleratorSettings.GraphSessionPerSize"/>) each captured size runs in a
/// session of its own over the same device buffers and stream.
/// Not thread-safe: called from the instance's one scheduler thread.
/// </summary>
internal sealed unsafe class GpuIoRunner : IDisposable
{
    private const string GraphIdKey = "gpu_graph_id";
    private const string NoSyncKey = "disable_synchronize_execution_providers";

    private readonly InferenceSession _session;
    private readonly CudaStream _stream;
    private readonly bool _ortCopies;
    private readonly bool _blockingSync;
    private readonly int _maxBatchSize;
    private readonly Tensor[] _inputs;
    private readonly Tensor[] _outputs;
    private readonly OrtMemoryInfo _boundMemory;
    private readonly Binding?[] _bindings;
    private readonly Dictionary<int, InferenceSession> _graphSessions;
    private readonly Dictionary<int, Binding> _graphBindings = [];
    private readonly RunOptions _eagerRun = new();
    private readonly Dictionary<int, RunOptions> _graphRuns = [];
    private readonly BatchGatherer _gatherer = new();
    private readonly List<ReadOnlyMemory<byte>> _pageLocked = [];
    private readonly Action<long, long> _copySegmentIn;
    private Tensor? _copyingInput;
    private int _capturedOnThread;
    private bool _disposed;

    /// <summary>ONNX Runtime keeps CUDA graphs per thread and captures in global mode, which forbids other threads'
    /// CUDA calls meanwhile: every GPU run holds this for reading, a capture for writing (process-wide).</summary>
    private static readonly ReaderWriterLockSlim CaptureLock = new();

    private GpuIoRunner(
        InferenceSession session, CudaStream stream, bool ortCopies, int maxBatchSize, Tensor[] inputs, Tensor[] outputs, CudaGraphPlan? graphs,
        Dictionary<int, InferenceSession> graphSessions, bool blockingSync)
    {
        _session = session;
        _graphSessions = graphSessions;
        _stream = stream;
        _ortCopies = ortCopies;
        _blockingSync = blockingSync;
        _maxBatchSize = maxBatchSize;
        _inputs = inputs;
        _outputs = outputs;
        Graphs = graphs;
        _bindings = new Binding?[maxBatchSize + 1];
        _copySegmentIn = CopySegmentIn;
        _boundMemory = ortCopies
            ? OrtMemoryInfo.DefaultInstance
            : new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, stream.DeviceId, OrtMemType.Default);
        if (!ortCopies)
        {
            _eagerRun.AddRunConfigEntry(NoSyncKey, "1");
        }
        if (graphs is not null)
        {
            _eagerRun.AddRunConfigEntry(GraphIdKey, "-1");
            foreach (var size in graphs.Sizes)
            {
                var run = new RunOptions();
                run.AddRunConfigEntry(NoSyncKey, "1");
                run.AddRunConfigEntry(GraphIdKey, size.ToString(CultureInfo.InvariantCulture));
                _graphRuns[size] = run;
            }
        }
    }

    /// <summary>The captured sizes and padding policy; null without CUDA graphs.</summary>
    public CudaGraphPlan? Graphs { get; }

    /// <summary>
    /// Creates the runner, or returns null when some input or output row has a dynamic dimension (the instance
    /// then feeds host tensors and ONNX Runtime copies). <paramref name="inputRows"/>/<paramref name="outputRows"/>
    /// are the dims after the batch dimension. Throws <see cref="CudaException"/> when memory cannot be allocated.
    /// With <paramref name="graphSessionFactory"/>, each captured size gets a session of its own from it (see
    /// <see cref="OnnxAcceleratorSettings.GraphSessionPerSize"/>); <paramref name="session"/> runs the eager batches.
    /// </summary>
    public static GpuIoRunner? TryCreate(
        InferenceSession session, CudaStream stream, OnnxAcceleratorSettings accelerators, int maxBatchSize,
        IReadOnlyList<(string Name, DataType Type, long[] RowDims)> inputRows,
        IReadOnlyList<(string Name, DataType Type, long[] RowDims)> outputRows,
        Func<InferenceSession>? graphSessionFactory = null)
    {
        if (maxBatchSize < 1 || inputRows.Concat(outputRows).Any(t => t.RowDims.Any(d => d < 1)))
        {
            return null;
        }
        var ortCopies = accelerators.IoCopy == GpuIoCopy.Ort;
        CudaGraphPlan? graphs = accelerators.CudaGraphs
            ? new CudaGraphPlan(accelerators.GraphBatchSizes.Count > 0 ? accelerators.GraphBatchSizes : CudaGraphPlan.DefaultSizes(maxBatchSize), maxBatchSize)
            : null;
        var created = new List<IDisposable>();
        try
        {
            Tensor Make((string Name, DataType Type, long[] RowDims) t)
            {
                var rowBytes = ShapeMath.ElementCount(t.RowDims) * t.Type.ElementSize();
                var host = new PinnedHostBuffer(rowBytes * maxBatchSize);
                created.Add(host);
                DeviceBuffer? device = null;
                if (!ortCopies)
                {
                    device = new DeviceBuffer(rowBytes * maxBatchSize);
                    created.Add(device);
                }
                return new Tensor(t.Name, OnnxTypeMap.ToElementType(t.Type), t.RowDims, rowBytes, host, device);
            }
            var inputs = inputRows.Select(Make).ToArray();
            var outputs = outputRows.Select(Make).ToArray();
            var graphSessions = new Dictionary<int, InferenceSession>();
            if (graphs is not null && graphSessionFactory is not null)
            {
                foreach (var size in graphs.Sizes)
                {
                    var graphSession = graphSessionFactory();
                    created.Add(graphSession);
                    graphSessions[size] = graphSession;
                }
            }
            var runner = new GpuIoRunner(session, stream, ortCopies, maxBatchSize, inputs, outputs, graphs, graphSessions,
                blockingSync: accelerators.Sync == GpuSync.Blocking);
            if (!ortCopies)
            {
                // From now on received tensors are page-locked, and this instance copies them to the device directly.
                PageLockedBufferPool.Shared.ActivateForCuda();
            }
            return runner;
        }
        catch
        {
            foreach (var d in created)
            {
                d.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// Runs rows <c>requests[start..end)</c> (<paramref name="rows"/> in all) and leaves the outputs in the host
    /// staging buffers (<see cref="Output"/>). Reports padding in <see cref="ExecutionTimings.PaddedRows"/>.
    /// </summary>
    public void Run(IReadOnlyList<InferenceRequest> requests, int start, int end, int rows, ref ExecutionTimings timings)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (rows > _maxBatchSize)
        {
            throw new InvalidOperationException($"batch of {rows} rows exceeds max_batch_size {_maxBatchSize}");
        }
        Prepare();
        CaptureLock.EnterReadLock();
        try
        {
            RunLocked(requests, start, end, rows, ref timings);
        }
        finally
        {
            CaptureLock.ExitReadLock();
        }
    }

    /// <summary>
    /// Captures the CUDA graphs on the calling thread unless they were captured on it already (ONNX Runtime keeps
    /// them per thread: a graph captured on another thread would be captured again, implicitly, by the next run,
    /// without the lock that keeps other instances' GPU work out of a capture). Call it on the executing thread
    /// before serving (the scheduler does); <see cref="Run"/> calls it too.
    /// </summary>
    public void Prepare()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Graphs is not null && _capturedOnThread != Environment.CurrentManagedThreadId)
        {
            CaptureGraphs();
        }
    }

    /// <summary>
    /// Benchmarks only: runs <paramref name="rows"/> rows on whatever the device input buffers hold, without gathering
    /// or copying (inputs already on the GPU, as a bare ONNX Runtime loop or PyTorch with device tensors measures),
    /// and waits for the stream. Returns the rows executed (after padding to a captured size).
    /// </summary>
    public int RunResident(int rows)
    {
        if (_ortCopies)
        {
            throw new InvalidOperationException("device-resident runs need gpu_io_copy 'stream' (inputs bound on the device)");
        }
        Prepare();
        CaptureLock.EnterReadLock();
        try
        {
            CudaRuntime.Check(CudaRuntime.SetDevice(_stream.DeviceId), "cudaSetDevice");
            var (executionRows, useGraph) = Graphs?.Choose(rows) ?? (rows, false);
            Execute(executionRows, useGraph);
            WaitForStream();
            return executionRows;
        }
        finally
        {
            CaptureLock.ExitReadLock();
        }
    }

    /// <summary>Waits for the stream: sleeping with <see cref="GpuSync.Blocking"/>, else spinning.</summary>
    private void WaitForStream()
    {
        if (_blockingSync)
        {
            _stream.SynchronizeBlocking();
        }
        else
        {
            _stream.Synchronize();
        }
    }

    private void CopySegmentIn(long offset, long length)
    {
        var input = _copyingInput!;
        CudaRuntime.Check(CudaRuntime.MemcpyAsync(input.Device!.Pointer + (nint)offset, input.Host.Pointer + (nint)offset, (nuint)length,
            CudaRuntime.MemcpyHostToDevice, _stream.Handle), "cudaMemcpyAsync(host to device)");
    }

    /// <summary>
    /// When every request's bytes of <paramref name="input"/> are page-locked (<see cref="PageLockedBufferPool"/>),
    /// copies each straight to its rows of the device buffer (DMA, no gather on the host) and returns true; else
    /// copies nothing and returns false. The requests outlive the copies: the stream is synchronised before they are
    /// released, and their buffers sit on the pinned object heap, which never moves.
    /// </summary>
    private bool CopyPageLockedIn(IReadOnlyList<InferenceRequest> requests, int start, int end, Tensor input, long bytes)
    {
        var pool = PageLockedBufferPool.Shared;
        _pageLocked.Clear();
        long total = 0;
        for (var r = start; r < end; r++)
        {
            var data = requests[r].FindInput(input.Name)?.Data ?? default;
            if (!pool.Contains(data) && !OnThisDevice(data, out _))
            {
                return false;
            }
            _pageLocked.Add(data);
            total += data.Length;
        }
        if (total != bytes)
        {
            return false;
        }
        long offset = 0;
        foreach (var data in _pageLocked)
        {
            if (OnThisDevice(data, out var device))
            {
                CudaRuntime.Check(CudaRuntime.MemcpyAsync(input.Device!.Pointer + (nint)offset, device, (nuint)data.Length,
                    CudaRuntime.MemcpyDeviceToDevice, _stream.Handle), "cudaMemcpyAsync(device to device)");
                offset += data.Length;
                continue;
            }
            fixed (byte* source = data.Span)
            {
                CudaRuntime.Check(CudaRuntime.MemcpyAsync(input.Device!.Pointer + (nint)offset, (nint)source, (nuint)data.Length,
                    CudaRuntime.MemcpyHostToDevice, _stream.Handle), "cudaMemcpyAsync(host to device)");
            }
            offset += data.Length;
        }
        if (GpuTrace.Enabled)
        {
            GpuTrace.Write($"run: {end - start} page-locked requests copied to the device without a gather");
        }
        return true;
    }

    /// <summary>True when <paramref name="data"/> is a CUDA shared memory input on this instance's device
    /// (<see cref="SharedMemory.DeviceBackedMemory"/>); <paramref name="pointer"/> is then its first byte on the device.</summary>
    private bool OnThisDevice(ReadOnlyMemory<byte> data, out nint pointer)
    {
        pointer = 0;
        if (!System.Runtime.InteropServices.MemoryMarshal.TryGetMemoryManager(data, out SharedMemory.DeviceBackedMemory? device, out var start, out _)
            || device.DeviceId != _stream.DeviceId)
        {
            return false;
        }
        pointer = device.DevicePointer + start;
        return true;
    }

    private void RunLocked(IReadOnlyList<InferenceRequest> requests, int start, int end, int rows, ref ExecutionTimings timings)
    {
        var t0 = Stopwatch.GetTimestamp();
        CudaRuntime.Check(CudaRuntime.SetDevice(_stream.DeviceId), "cudaSetDevice");
        var (executionRows, useGraph) = Graphs?.Choose(rows) ?? (rows, false);
        if (GpuTrace.Enabled)
        {
            GpuTrace.Write($"run: {rows} rows as {executionRows} graph={useGraph}");
        }
        for (var k = 0; k < _inputs.Length; k++)
        {
            var input = _inputs[k];
            var bytes = rows * input.RowBytes;
            if (!_ortCopies && CopyPageLockedIn(requests, start, end, input, bytes))
            {
                continue;
            }
            _gatherer.Clear();
            for (var r = start; r < end; r++)
            {
                _gatherer.Add((requests[r].FindInput(input.Name)
                    ?? throw new InvalidOperationException($"request '{requests[r].Id}' lacks input '{input.Name}'")).Data);
            }
            if (_gatherer.Bytes != bytes)
            {
                throw new InvalidOperationException($"input '{input.Name}': requests hold {_gatherer.Bytes} bytes, {rows} rows need {bytes}");
            }
            // Each gathered segment goes to the device at once (asynchronous DMA) while the next one is gathered.
            _copyingInput = _ortCopies ? null : input;
            _gatherer.CopyTo((byte*)input.Host.Pointer, _ortCopies ? null : _copySegmentIn);
        }
        var t1 = Stopwatch.GetTimestamp();
        GpuTrace.Write("run: gathered and copying; executing");
        Execute(executionRows, useGraph);
        GpuTrace.Write("run: copying out");
        CopyOut(rows);
        GpuTrace.Write("run: done");
        var t2 = Stopwatch.GetTimestamp();
        timings.ComputeInputNs += Stopwatch.GetElapsedTime(t0, t1).Ticks * 100;
        timings.ComputeInferNs += Stopwatch.GetElapsedTime(t1, t2).Ticks * 100;
        timings.PaddedRows += executionRows - rows;
    }

    /// <summary>Output <paramref name="o"/>'s first <paramref name="rows"/> rows, valid until the next run.</summary>
    public ReadOnlySpan<byte> Output(int o, int rows) => _outputs[o].Host.Span(rows * _outputs[o].RowBytes);

    /// <summary>The model shape of output <paramref name="o"/> for <paramref name="rows"/> rows.</summary>
    public long[] OutputShape(int o, int rows)
    {
        var dims = _outputs[o].RowDims;
        var shape = new long[dims.Length + 1];
        shape[0] = rows;
        dims.CopyTo(shape, 1);
        return shape;
    }

    /// <summary>
    /// Captures every size of <see cref="Graphs"/> and records each replay's time. Inputs hold a
    /// fixed non-zero byte pattern. Runs on the first <see cref="Run"/>, on the thread that executes (ONNX Runtime's
    /// graphs belong to the capturing thread), with every other GPU instance of the process held off.
    /// </summary>
    private void CaptureGraphs()
    {
        GpuTrace.Write($"capture: waiting for the lock (captured on thread {_capturedOnThread})");
        CaptureLock.EnterWriteLock();
        try
        {
            CaptureAll(Graphs!);
            GpuTrace.Write($"capture: done ({Graphs!.Describe()})");
            _capturedOnThread = Environment.CurrentManagedThreadId;
        }
        finally
        {
            CaptureLock.ExitWriteLock();
        }
    }

    private void CaptureAll(CudaGraphPlan graphs)
    {
        CudaRuntime.Check(CudaRuntime.SetDevice(_stream.DeviceId), "cudaSetDevice");
        foreach (var input in _inputs)
        {
            var bytes = _maxBatchSize * input.RowBytes;
            input.Host.Span(bytes).Fill(0x3C);
            CudaRuntime.Check(CudaRuntime.MemcpyAsync(input.Device!.Pointer, input.Host.Pointer, (nuint)bytes,
                CudaRuntime.MemcpyHostToDevice, _stream.Handle), "cudaMemcpyAsync(host to device)");
        }
        foreach (var size in graphs.Sizes)
        {
            // ONNX Runtime runs a graph id regularly first (cuDNN's algorithm search happens there, outside capture),
            // then captures, then replays; four runs leave it replaying whatever its minimum of regular runs is.
            GpuTrace.Write($"capture: size {size}");
            for (var r = 0; r < 3; r++)
            {
                TimedRun(size, useGraph: true);
            }
            graphs.RecordReplay(size, TimedRun(size, useGraph: true));
        }
    }

    private double TimedRun(int rows, bool useGraph)
    {
        var t0 = Stopwatch.GetTimestamp();
        GpuTrace.Write($"  run {rows} graph={useGraph}");
        Execute(rows, useGraph);
        GpuTrace.Write("  synchronize");
        _stream.Synchronize();
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    private void Execute(int executionRows, bool useGraph)
    {
        if (useGraph && _graphSessions.TryGetValue(executionRows, out var graphSession))
        {
            if (!_graphBindings.TryGetValue(executionRows, out var graphBinding))
            {
                graphBinding = CreateBinding(graphSession, executionRows);
                _graphBindings[executionRows] = graphBinding;
            }
            graphSession.RunWithBinding(_graphRuns[executionRows], graphBinding.IoBinding);
            return;
        }
        var binding = _bindings[executionRows] ??= CreateBinding(_session, executionRows);
        _session.RunWithBinding(useGraph ? _graphRuns[executionRows] : _eagerRun, binding.IoBinding);
    }

    private void CopyOut(int rows)
    {
        if (_ortCopies)
        {
            return; // Bound to the host buffers: ONNX Runtime copied and synchronised.
        }
        foreach (var output in _outputs)
        {
            CudaRuntime.Check(CudaRuntime.MemcpyAsync(output.Host.Pointer, output.Device!.Pointer, (nuint)(rows * output.RowBytes),
                CudaRuntime.MemcpyDeviceToHost, _stream.Handle), "cudaMemcpyAsync(device to host)");
        }
        WaitForStream();
    }

    private Binding CreateBinding(InferenceSession session, int rows)
    {
        var binding = session.CreateIoBinding();
        var values = new List<OrtValue>();
        try
        {
            foreach (var (tensors, isInput) in new[] { (_inputs, true), (_outputs, false) })
            {
                foreach (var t in tensors)
                {
                    var shape = new long[t.RowDims.Length + 1];
                    shape[0] = rows;
                    t.RowDims.CopyTo(shape, 1);
                    var pointer = _ortCopies ? t.Host.Pointer : t.Device!.Pointer;
                    var value = OrtValue.CreateTensorValueWithData(_boundMemory, t.ElementType, shape, pointer, rows * t.RowBytes);
                    values.Add(value);
                    if (isInput)
                    {
                        binding.BindInput(t.Name, value);
                    }
                    else
                    {
                        binding.BindOutput(t.Name, value);
                    }
                }
            }
            return new Binding(binding, values);
        }
        catch
        {
            binding.Dispose();
            foreach (var v in values)
            {
                v.Dispose();
            }
            throw;
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var b in _bindings.Concat(_graphBindings.Values))
        {
            b?.Dispose();
        }
        foreach (var graphSession in _graphSessions.Values)
        {
            graphSession.Dispose();
        }
        _eagerRun.Dispose();
        foreach (var r in _graphRuns.Values)
        {
            r.Dispose();
        }
        foreach (var t in _inputs.Concat(_outputs))
        {
            t.Host.Dispose();
            t.Device?.Dispose();
        }
        if (!_ortCopies)
        {
            _boundMemory.Dispose();
        }
    }

    private sealed record Tensor(string Name, TensorElementType ElementType, long[] RowDims, long RowBytes, PinnedHostBuffer Host, DeviceBuffer? Device);

    private sealed class Binding(OrtIoBinding ioBinding, List<OrtValue> values) : IDisposable
    {
        public OrtIoBinding IoBinding { get; } = ioBinding;

        public void Dispose()
        {
            IoBinding.Dispose();
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }
}
