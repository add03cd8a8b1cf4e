using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Inference.Server.Tracing;

/// <summary>
/// Triton's trace output of one <c>trace_file</c>: traces saved "to index file" go each time into a new
/// <c>${trace_file}.${index}</c> holding one JSON array (the index counts from 0 per file); the others are appended to
/// <c>${trace_file}</c> itself, whose JSON array is closed when the server stops (<see cref="Dispose"/>). A write that
/// fails is logged and the traces are dropped; serving goes on.
/// </summary>
internal sealed class TraceFile(string path, ILogger logger) : IDisposable
{
    private static readonly byte[] Open = "["u8.ToArray();
    private static readonly byte[] Close = "]"u8.ToArray();
    private static readonly byte[] Comma = ","u8.ToArray();

    private readonly object _lock = new();
    private int _index;
    private FileStream? _main;
    private bool _disposed;

    public string Path { get; } = path;

    /// <summary>Writes <paramref name="traces"/> (comma-separated JSON values, no brackets).</summary>
    public void Save(ReadOnlySpan<byte> traces, bool toIndexFile)
    {
        try
        {
            if (toIndexFile)
            {
                var index = Interlocked.Increment(ref _index) - 1;
                var name = Path + "." + index.ToString(CultureInfo.InvariantCulture);
                using var file = new FileStream(name, FileMode.Create, FileAccess.Write, FileShare.Read);
                file.Write(Open);
                file.Write(traces);
                file.Write(Close);
                return;
            }
            lock (_lock)
            {
                if (_disposed)
                {
                    return;
                }
                if (_main is null)
                {
                    _main = new FileStream(Path, FileMode.Create, FileAccess.Write, FileShare.Read);
                    _main.Write(Open);
                }
                else
                {
                    _main.Write(Comma);
                }
                _main.Write(traces);
                _main.Flush();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            TraceLog.WriteFailed(logger, Path, e.Message);
        }
    }

    /// <summary>Closes <c>${trace_file}</c>'s JSON array, if anything was written to it.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            if (_main is null)
            {
                return;
            }
            try
            {
                _main.Write(Close);
                _main.Dispose();
            }
            catch (IOException e)
            {
                TraceLog.WriteFailed(logger, Path, e.Message);
            }
        }
    }
}
