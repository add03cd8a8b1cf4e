using Inference.Server.Core;
using Inference.Server.SharedMemory;

namespace Inference.Server.Protocol;

/// <summary>
/// The outputs of one request that go into shared memory, each with its window (acquired when the request is parsed,
/// so the region cannot go away before the outputs are written). <see cref="Write"/> copies each such output of the
/// response into its window; the front-end then answers those outputs with their shared memory parameters and no data.
/// Two outputs of one request may not share bytes. Disposing releases the windows.
/// </summary>
public sealed class SharedMemoryOutputs : IDisposable
{
    private readonly Dictionary<string, SharedMemoryWindow> _windows = new(StringComparer.Ordinal);

    /// <summary>Acquires the window of output <paramref name="output"/>; an error when it cannot, or when it overlaps the
    /// window of an output added before.</summary>
    public InferenceError? Add(SharedMemoryManager? manager, string output, SharedMemoryReference where)
    {
        if (manager is null)
        {
            return new InferenceError(ErrorCode.Unsupported, "shared memory is not enabled on this server");
        }
        var acquired = manager.Acquire(where.Region, where.Offset, where.ByteSize);
        if (!acquired.IsSuccess)
        {
            return acquired.Error;
        }
        var window = acquired.Value!;
        foreach (var (other, w) in _windows)
        {
            if (w.Kind == window.Kind && w.Address < window.Address + window.Length && window.Address < w.Address + w.Length)
            {
                ((IDisposable)window).Dispose();
                return ProtocolErrors.Invalid(
                    $"outputs '{other}' and '{output}' overlap in shared memory (region '{w.RegionName}' and region '{window.RegionName}')");
            }
        }
        if (!_windows.TryAdd(output, window))
        {
            ((IDisposable)window).Dispose();
            return ProtocolErrors.Invalid($"output '{output}' is requested more than once");
        }
        return null;
    }

    public bool IsEmpty => _windows.Count == 0;

    public SharedMemoryWindow? For(string output) => _windows.GetValueOrDefault(output);

    /// <summary>Copies every output of <paramref name="response"/> that has a window into it; an error (nothing more
    /// written) when one does not fit.</summary>
    public InferenceError? Write(InferenceResponse response)
    {
        foreach (var output in response.Outputs)
        {
            if (_windows.TryGetValue(output.Name, out var window) && output.Data.Length > window.Length)
            {
                return ProtocolErrors.Invalid(
                    $"shared memory size specified with the request for output '{output.Name}' ({window.Length} bytes) should be at least {output.Data.Length} bytes to hold the results");
            }
        }
        foreach (var output in response.Outputs)
        {
            if (!_windows.TryGetValue(output.Name, out var window))
            {
                continue;
            }
            if (window.Kind == SharedMemoryKind.System)
            {
                output.Data.Span.CopyTo(window.GetSpan());
                continue;
            }
            using var pin = output.Data.Pin();
            unsafe
            {
                var error = CudaIpc.Copy(window.DeviceId, window.Address, (nint)pin.Pointer, output.Data.Length, CudaIpc.MemcpyHostToDevice);
                if (error is not null)
                {
                    return error;
                }
            }
        }
        return null;
    }

    public void Dispose()
    {
        foreach (var window in _windows.Values)
        {
            ((IDisposable)window).Dispose();
        }
        _windows.Clear();
    }
}
