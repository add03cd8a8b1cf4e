using System.Collections.Concurrent;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Inference.Server.Protos;
using LoadTest.Inputs;

namespace LoadTest.Clients;

/// <summary>
/// KServe v2 gRPC ModelStreamInfer, as perf_analyzer's <c>--streaming</c>: one bidirectional stream per channel, opened
/// on first use; each call writes its request with an id of its own on the next stream (round-robin, one write at a
/// time per stream) and waits for the reply carrying that id, since replies come back as they finish, in any order.
/// A broken stream fails its waiting calls with a <c>grpc-</c> label and is opened again by the next call.
/// </summary>
public sealed class GrpcStreamInferClient : IInferClient
{
    private readonly GrpcChannel[] _channels;
    private readonly StreamSlot[] _streams;
    private readonly ModelInferRequest[] _requests;
    private readonly ResponseValidator _validator;
    private int _nextStream;
    private int _nextRequest;
    private long _nextId;

    public GrpcStreamInferClient(Uri address, string model, string version, IReadOnlyList<RequestTemplate> templates, ResponseValidator validator, int channels)
    {
        _validator = validator;
        _channels = [.. Enumerable.Range(0, Math.Max(channels, 1)).Select(_ => GrpcInferClient.CreateChannel(address))];
        _streams = [.. _channels.Select(c => new StreamSlot(new GRPCInferenceService.GRPCInferenceServiceClient(c)))];
        _requests = [.. templates.Select(t => GrpcInferClient.Build(model, version, t))];
    }

    public async Task<string?> InferAsync(CancellationToken cancellationToken)
    {
        var slot = _streams[(uint)Interlocked.Increment(ref _nextStream) % _streams.Length];
        var request = _requests[(uint)Interlocked.Increment(ref _nextRequest) % _requests.Length].Clone();
        request.Id = Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture);
        ModelStreamInferResponse reply;
        try
        {
            reply = await slot.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return "grpc-" + e.StatusCode;
        }
        if (!string.IsNullOrEmpty(reply.ErrorMessage))
        {
            return "grpc-stream-error";
        }
        return reply.InferResponse is null ? ResponseValidator.Malformed : GrpcInferClient.Validate(reply.InferResponse, _validator);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _streams)
        {
            await s.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var c in _channels)
        {
            c.Dispose();
        }
    }

    /// <summary>One stream of a channel and the calls waiting on it.</summary>
    private sealed class StreamSlot(GRPCInferenceService.GRPCInferenceServiceClient client) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _write = new(1, 1);
        private readonly ConcurrentDictionary<string, TaskCompletionSource<ModelStreamInferResponse>> _waiting = new();
        private AsyncDuplexStreamingCall<ModelInferRequest, ModelStreamInferResponse>? _call;
        private Task? _reader;

        public async Task<ModelStreamInferResponse> SendAsync(ModelInferRequest request, CancellationToken cancellationToken)
        {
            var done = new TaskCompletionSource<ModelStreamInferResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting[request.Id] = done;
            try
            {
                await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    if (_call is null)
                    {
                        _call = client.ModelStreamInfer();
                        var call = _call;
                        _reader = Task.Run(() => ReadAsync(call));
                    }
                    try
                    {
                        await _call.RequestStream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException)
                    {
                        // The call ended before its reader noticed, or its HTTP/2 stream could not be opened (the server
                        // closed its listener, as at the end of a drain): report it as the stream's failure.
                        throw new RpcException(new Status(StatusCode.Unavailable, $"{e.GetType().Name}: {e.Message}"));
                    }
                }
                finally
                {
                    _write.Release();
                }
                return await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _waiting.TryRemove(request.Id, out _);
            }
        }

        private async Task ReadAsync(AsyncDuplexStreamingCall<ModelInferRequest, ModelStreamInferResponse> call)
        {
            RpcException failure;
            try
            {
                await foreach (var reply in call.ResponseStream.ReadAllAsync().ConfigureAwait(false))
                {
                    if (reply.InferResponse?.Id is { Length: > 0 } id && _waiting.TryGetValue(id, out var waiter))
                    {
                        waiter.TrySetResult(reply);
                    }
                }
                failure = new RpcException(new Status(StatusCode.Unavailable, "the server ended the stream"));
            }
            catch (RpcException e)
            {
                failure = e;
            }
            catch (Exception e)
            {
                failure = new RpcException(new Status(StatusCode.Unavailable, e.Message));
            }
            await _write.WaitAsync().ConfigureAwait(false);
            try
            {
                if (ReferenceEquals(_call, call))
                {
                    _call = null;
                }
            }
            finally
            {
                _write.Release();
            }
            call.Dispose();
            foreach (var waiter in _waiting.Values)
            {
                waiter.TrySetException(failure);
            }
        }

        public async ValueTask DisposeAsync()
        {
            var call = _call;
            if (call is not null)
            {
                try
                {
                    await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Already broken: the reader ends it.
                }
            }
            if (_reader is not null)
            {
                await _reader.ConfigureAwait(false);
            }
        }
    }
}
