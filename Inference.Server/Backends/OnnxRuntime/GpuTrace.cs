using System.Diagnostics;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// Step-by-step trace of the GPU hot path on stderr (thread, milliseconds since start, step) when the environment
/// variable <c>INFERENCE_GPU_TRACE=1</c>; for diagnosing captures and hangs on a GPU machine. Off: one branch per call.
/// </summary>
internal static class GpuTrace
{
    private static readonly long Start = Stopwatch.GetTimestamp();

    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("INFERENCE_GPU_TRACE") == "1";

    public static void Write(string step)
    {
        if (Enabled)
        {
            Console.Error.WriteLine($"[gpu-trace t{Environment.CurrentManagedThreadId} {Stopwatch.GetElapsedTime(Start).TotalMilliseconds:F1} ms] {step}");
        }
    }
}
