using System.Buffers;
using System.Diagnostics;
using Inference.Server.Core;
using Inference.Server.Scheduling;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// One ONNX Runtime session serving one model instance. Created by <see cref="OnnxRuntimeBackend.CreateInstance"/>.
/// <para>Batching models (max_batch_size &gt; 0): requests whose inputs agree on all non-batch dims are
/// concatenated along dim 0 into a per-input pinned staging buffer (a lone request is read in place, pinned,
/// without a copy), wrapped as an OrtValue without copying, run once, and each output is split back along dim 0
/// into the requests' responses. Requests with differing shapes run in separate sub-batches.
/// Non-batching models (max_batch_size 0) run each request alone with its own shape.</para>
/// <para>Each response holds the requested outputs (all when none were requested) as tensors over
/// <see cref="PooledBuffer"/>s; a requested classification count replaces the output with BYTES top-N strings.</para>
/// <para>GPU instances of batching models with fixed row shapes run through <see cref="GpuIoRunner"/> (device
/// buffers bound once, pinned staging, one copy in and out per batch, optional CUDA graphs); other GPU instances
/// feed host tensors and ONNX Runtime copies them.</para>
/// <para>Not thread-safe: the scheduler calls <see cref="Execute"/> from one thread (see <see cref="IModelInstance"/>).</para>
/// </summary>
public sealed class OnnxRuntimeInstance : IModelInstance
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _sessionOptions;
    private readonly RunOptions _runOptions = new();
    private readonly string _modelName;
    private readonly long _modelVersion;
    private readonly int _maxBatchSize;
    private readonly InputPlan[] _inputs;
    private readonly OutputPlan[] _outputs;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly OrtValue?[] _inputValues;
    private readonly OrtValue[] _inputValueView;
    private readonly MemoryHandle[] _pins;
    private readonly ClassificationWriter _classifier = new();
    private readonly GpuIoRunner? _gpu;
    private readonly CudaStream? _stream;
    private bool _disposed;

    internal OnnxRuntimeInstance(
        string name, OnnxDevice device, string modelName, long modelVersion, int maxBatchSize,
        InferenceSession session, SessionOptions sessionOptions, InputPlan[] inputs, OutputPlan[] outputs,
        GpuIoRunner? gpu = null, CudaStream? stream = null)
    {
        _gpu = gpu;
        _stream = stream;
        Name = name;
        Device = device.ToString();
        _modelName = modelName;
        _modelVersion = modelVersion;
        _maxBatchSize = maxBatchSize;
        _session = session;
        _sessionOptions = sessionOptions;
        _inputs = inputs;
        _outputs = outputs;
        _inputNames = inputs.Select(i => i.Name).ToArray();
        _outputNames = outputs.Select(o => o.Name).ToArray();
        _inputValues = new OrtValue?[inputs.Length];
        _inputValueView = new OrtValue[inputs.Length];
        _pins = new MemoryHandle[inputs.Length];
    }

    public string Name { get; }

    public string Device { get; }

    /// <summary>Max rows per execution (0: the model does not batch).</summary>
    public int MaxBatchSize => _maxBatchSize;

    /// <summary>True when batches go through the GPU hot path (<see cref="GpuIoRunner"/>): device buffers, pinned
    /// staging, one copy in and out per batch.</summary>
    public bool UsesGpuIoBinding => _gpu is not null;

    /// <summary>The CUDA graph batch sizes, captured on the executing thread before serving (empty without CUDA graphs).</summary>
    public IReadOnlyList<int> CudaGraphBatchSizes => _gpu?.Graphs?.Sizes ?? [];

    /// <inheritdoc />
    public IReadOnlyList<int> ExactBatchSizes => CudaGraphBatchSizes;

    /// <inheritdoc />
    public void PrepareOnExecutingThread()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _gpu?.Prepare();
    }

    /// <summary>Benchmarks only (<c>gpu-bench --resident</c>): one execution of <paramref name="rows"/> rows on the
    /// device buffers as they are, no copies; returns the rows executed after padding. Needs the GPU hot path.</summary>
    internal int ExecuteResident(int rows) =>
        (_gpu ?? throw new InvalidOperationException("device-resident runs need the GPU hot path (IOBinding)")).RunResident(rows);

    public void Execute(IReadOnlyList<InferenceRequest> requests, InferenceResponse[] responses, ref ExecutionTimings timings)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var start = 0;
        while (start < requests.Count)
        {
            var end = start + 1;
            if (_maxBatchSize > 0)
            {
                while (end < requests.Count && SameNonBatchShapes(requests[start], requests[end]))
                {
                    end++;
                }
            }
            RunGroup(requests, start, end, responses, ref timings);
            start = end;
        }
    }

    private void RunGroup(IReadOnlyList<InferenceRequest> requests, int start, int end, InferenceResponse[] responses, ref ExecutionTimings timings)
    {
        var t0 = Stopwatch.GetTimestamp();
        var batching = _maxBatchSize > 0;
        var rows = 0;
        for (var r = start; r < end; r++)
        {
            rows += batching ? requests[r].BatchSize : 1;
        }
        if (batching && rows > _maxBatchSize)
        {
            throw new InvalidOperationException($"batch of {rows} rows exceeds max_batch_size {_maxBatchSize} of '{_modelName}'");
        }

        if (_gpu is not null)
        {
            _gpu.Run(requests, start, end, rows, ref timings);
            var t3 = Stopwatch.GetTimestamp();
            SplitOutputs(null, requests, start, end, rows, batching, responses);
            timings.ComputeOutputNs += ToNanoseconds(Stopwatch.GetTimestamp() - t3);
            return;
        }

        try
        {
            for (var k = 0; k < _inputs.Length; k++)
            {
                _inputValues[k] = BindInput(k, requests, start, end, rows, batching);
                _inputValueView[k] = _inputValues[k]!;
            }
            var t1 = Stopwatch.GetTimestamp();
            using var outputs = _session.Run(_runOptions, _inputNames, _inputValueView, _outputNames);
            var t2 = Stopwatch.GetTimestamp();
            SplitOutputs(outputs, requests, start, end, rows, batching, responses);
            var t3 = Stopwatch.GetTimestamp();
            timings.ComputeInputNs += ToNanoseconds(t1 - t0);
            timings.ComputeInferNs += ToNanoseconds(t2 - t1);
            timings.ComputeOutputNs += ToNanoseconds(t3 - t2);
        }
        finally
        {
            for (var k = 0; k < _inputs.Length; k++)
            {
                _inputValues[k]?.Dispose();
                _inputValues[k] = null;
                _pins[k].Dispose();
                _pins[k] = default;
            }
        }
    }

    private unsafe OrtValue BindInput(int k, IReadOnlyList<InferenceRequest> requests, int start, int end, int rows, bool batching)
    {
        var plan = _inputs[k];
        var first = FindInput(requests[start], plan.Name);
        if (batching && first.Shape.Length == 0)
        {
            throw new InvalidOperationException($"input '{plan.Name}' of batching model '{_modelName}' has no batch dimension");
        }
        var shape = ModelShape(plan, first.Shape, rows, batching);
        var byteCount = checked(ShapeMath.ElementCount(shape) * plan.ElementSize);

        long received = 0;
        for (var r = start; r < end; r++)
        {
            received += FindInput(requests[r], plan.Name).Data.Length;
        }
        if (received != byteCount)
        {
            throw new InvalidOperationException(
                $"input '{plan.Name}' of '{_modelName}': requests hold {received} bytes, shape {ShapeMath.Format(shape)} needs {byteCount}");
        }

        nint pointer;
        if (end - start == 1)
        {
            _pins[k] = first.Data.Pin();
            pointer = (nint)_pins[k].Pointer;
        }
        else
        {
            var staging = plan.Staging.Ensure(byteCount);
            var offset = 0;
            for (var r = start; r < end; r++)
            {
                var data = FindInput(requests[r], plan.Name).Data.Span;
                data.CopyTo(staging[offset..]);
                offset += data.Length;
            }
            pointer = plan.Staging.Pointer;
        }
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, plan.ElementType, shape, pointer, byteCount);
    }

    /// <summary>Splits <paramref name="outputs"/> (or, when null, the GPU runner's host staging buffers).</summary>
    private void SplitOutputs(
        IReadOnlyList<OrtValue>? outputs, IReadOnlyList<InferenceRequest> requests, int start, int end, int rows, bool batching,
        InferenceResponse[] responses)
    {
        for (var r = start; r < end; r++)
        {
            var request = requests[r];
            var response = new InferenceResponse { ModelName = _modelName, ModelVersion = _modelVersion, Id = request.Id };
            responses[r] = response;
            if (request.Outputs.Count == 0)
            {
                for (var o = 0; o < _outputs.Length; o++)
                {
                    response.Outputs.Add(SliceOutput(o, outputs?[o], request, r, start, requests, rows, batching, 0));
                }
            }
            else
            {
                foreach (var requested in request.Outputs)
                {
                    var o = Array.IndexOf(_outputNames, requested.Name);
                    if (o < 0)
                    {
                        throw new InvalidOperationException($"'{_modelName}' has no output '{requested.Name}'");
                    }
                    response.Outputs.Add(SliceOutput(o, outputs?[o], request, r, start, requests, rows, batching, requested.ClassificationCount));
                }
            }
        }
    }

    private InferTensor SliceOutput(
        int o, OrtValue? value, InferenceRequest request, int r, int start, IReadOnlyList<InferenceRequest> requests, int rows, bool batching,
        int classificationCount)
    {
        var plan = _outputs[o];
        var modelShape = value is null ? _gpu!.OutputShape(o, rows) : value.GetTensorTypeAndShape().Shape;
        ReadOnlySpan<byte> all = value is null ? _gpu!.Output(o, rows) : value.GetTensorMutableRawData();
        int requestRows;
        ReadOnlySpan<byte> slice;
        if (batching)
        {
            if (modelShape.Length == 0 || modelShape[0] != rows)
            {
                throw new InvalidOperationException(
                    $"output '{plan.Name}' of '{_modelName}' has shape {ShapeMath.Format(modelShape)}, expected {rows} rows in dim 0");
            }
            var rowBytes = rows == 0 ? 0 : all.Length / rows;
            var firstRow = 0;
            for (var i = start; i < r; i++)
            {
                firstRow += requests[i].BatchSize;
            }
            requestRows = request.BatchSize;
            slice = all.Slice(firstRow * rowBytes, requestRows * rowBytes);
        }
        else
        {
            requestRows = 1;
            slice = all;
        }

        if (classificationCount > 0)
        {
            var rowElements = slice.Length / plan.ElementSize / Math.Max(requestRows, 1);
            return _classifier.Write(plan.Name, plan.DataType, slice, requestRows, rowElements, classificationCount, plan.LabelSuffixes, batching);
        }

        var shape = ClientShape(plan, modelShape, requestRows, batching, slice.Length);
        var buffer = PooledBuffer.Rent(slice.Length);
        slice.CopyTo(buffer.Span);
        return new InferTensor(plan.Name, plan.DataType, shape, buffer.Memory, buffer);
    }

    /// <summary>The shape the model sees: [rows] + (reshape or the request's non-batch dims) when batching;
    /// the reshape or the request's full shape otherwise.</summary>
    private static long[] ModelShape(InputPlan plan, long[] requestShape, int rows, bool batching)
    {
        var inner = batching ? requestShape.AsSpan(1) : requestShape.AsSpan();
        long[] shape;
        if (plan.Reshape is null)
        {
            shape = new long[inner.Length + (batching ? 1 : 0)];
            inner.CopyTo(shape.AsSpan(batching ? 1 : 0));
        }
        else
        {
            shape = new long[plan.Reshape.Length + (batching ? 1 : 0)];
            plan.Reshape.CopyTo(shape.AsSpan(batching ? 1 : 0));
            ResolveWildcard(shape.AsSpan(batching ? 1 : 0), ShapeMath.ElementCount(inner), plan.Name);
        }
        if (batching)
        {
            shape[0] = rows;
        }
        return shape;
    }

    /// <summary>The shape the client sees: the config's dims when the config reshapes the output, else the model's.</summary>
    private static long[] ClientShape(OutputPlan plan, long[] modelShape, int requestRows, bool batching, int byteLength)
    {
        if (plan.ClientDims is null)
        {
            var shape = (long[])modelShape.Clone();
            if (batching)
            {
                shape[0] = requestRows;
            }
            return shape;
        }
        var offset = batching ? 1 : 0;
        var clientShape = new long[plan.ClientDims.Length + offset];
        plan.ClientDims.CopyTo(clientShape.AsSpan(offset));
        var elements = byteLength / plan.ElementSize / (batching ? Math.Max(requestRows, 1) : 1);
        ResolveWildcard(clientShape.AsSpan(offset), elements, plan.Name);
        if (batching)
        {
            clientShape[0] = requestRows;
        }
        return clientShape;
    }

    /// <summary>Replaces a single -1 in <paramref name="dims"/> so that they hold <paramref name="elements"/>.</summary>
    private static void ResolveWildcard(Span<long> dims, long elements, string tensorName)
    {
        var wildcard = dims.IndexOf(-1L);
        if (wildcard < 0)
        {
            return;
        }
        long known = 1;
        for (var i = 0; i < dims.Length; i++)
        {
            if (i != wildcard)
            {
                known *= dims[i];
            }
        }
        if (known <= 0 || elements < 0 || elements % known != 0)
        {
            throw new InvalidOperationException($"cannot reshape {elements} elements of '{tensorName}' to the configured reshape");
        }
        dims[wildcard] = elements / known;
    }

    private bool SameNonBatchShapes(InferenceRequest a, InferenceRequest b)
    {
        foreach (var plan in _inputs)
        {
            var x = FindInput(a, plan.Name).Shape;
            var y = FindInput(b, plan.Name).Shape;
            if (x.Length == 0 || y.Length == 0 || !x.AsSpan(1).SequenceEqual(y.AsSpan(1)))
            {
                return false;
            }
        }
        return true;
    }

    private InferTensor FindInput(InferenceRequest request, string name) =>
        request.FindInput(name) ?? throw new InvalidOperationException($"request '{request.Id}' lacks input '{name}' of '{_modelName}'");

    private static long ToNanoseconds(long ticks) => (long)(ticks * (1_000_000_000.0 / Stopwatch.Frequency));

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _gpu?.Dispose();
        _session.Dispose();
        _sessionOptions.Dispose();
        _runOptions.Dispose();
        _stream?.Dispose();
    }
}
