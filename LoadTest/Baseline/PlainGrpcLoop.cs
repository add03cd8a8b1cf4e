using System.Diagnostics;
using Google.Protobuf;
using Grpc.Net.Client;
using Inference.Server.Protos;

namespace LoadTest.Baseline;

/// <summary>
/// The honesty benchmark's gRPC reference: the simplest possible Grpc.Net.Client closed loop (one channel per
/// <c>channels</c>, N tasks awaiting ModelInfer on one prebuilt FP32 request, counting answers), with none of
/// LoadTest's machinery (no validation beyond the call succeeding, no histograms, no metrics). Prints requests/s.
/// </summary>
public static class PlainGrpcLoop
{
    public static async Task<double> RunAsync(Uri address, string model, string input, int width, int concurrency, int channels,
        TimeSpan warmup, TimeSpan duration, CancellationToken cancellationToken)
    {
        var pool = Enumerable.Range(0, Math.Max(channels, 1))
            .Select(_ => new GRPCInferenceService.GRPCInferenceServiceClient(GrpcChannel.ForAddress(address))).ToArray();
        var request = new ModelInferRequest { ModelName = model };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input, Datatype = "FP32" };
        tensor.Shape.AddRange([1, width]);
        request.Inputs.Add(tensor);
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[width * 4]));
        long count = 0;
        var measuring = false;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var workers = Enumerable.Range(0, concurrency).Select(i => Task.Run(async () =>
        {
            var client = pool[i % pool.Length];
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await client.ModelInferAsync(request, cancellationToken: stop.Token);
                }
                catch (Grpc.Core.RpcException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                if (Volatile.Read(ref measuring))
                {
                    Interlocked.Increment(ref count);
                }
            }
        })).ToArray();
        await Task.Delay(warmup, cancellationToken);
        Volatile.Write(ref measuring, true);
        var start = Stopwatch.GetTimestamp();
        await Task.Delay(duration, cancellationToken);
        var done = Interlocked.Read(ref count);
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        return done / seconds;
    }
}
