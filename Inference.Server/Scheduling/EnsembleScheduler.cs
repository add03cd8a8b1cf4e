using Inference.Server.Core;
using Inference.Server.Repository;

namespace Inference.Server.Scheduling;

/// <summary>
/// Runs an ensemble (Triton's ensemble scheduler): each request flows through the steps of its
/// <see cref="EnsemblePlan"/> as a data flow, a step starting as soon as all its input tensors exist, so independent
/// steps run concurrently. Each step is an ordinary request to its composing model through
/// <see cref="IInferenceServer.InferAsync"/>, so it is validated, queued, batched and counted in that model's
/// statistics like any other; the version is resolved per request (-1: the latest ready one).
/// Intermediate tensors are not copied: a step's inputs are views of the ensemble request's buffers or of earlier
/// steps' output buffers, which stay alive until the ensemble request completes; the requested outputs move from
/// the steps' responses into the ensemble's response. Only steps that contribute to a requested output run, and each
/// step is asked only for the outputs that are needed. A failed step fails the request with that step's error once
/// the steps already running have finished. The ensemble's own statistics count each successful request as one
/// execution of its batch size with the sum of its steps' compute times and no queue time, as Triton does.
/// </summary>
public sealed class EnsembleScheduler(EnsemblePlan plan, long version, IInferenceServer server, ModelStatistics statistics, TimeProvider timeProvider)
    : IScheduler
{
    private static readonly InferenceError Stopping = new(ErrorCode.Unavailable,
        "Server is stopping, scheduler for model has stopped accepting new inference requests");

    private int _inflight;
    private volatile bool _stopping;

    public int InflightCount => Volatile.Read(ref _inflight);

    public int QueuedCount => 0;

    public ValueTask<InferenceResult> InferAsync(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_stopping)
        {
            request.Dispose();
            return ValueTask.FromResult(InferenceResult.Failure(Stopping));
        }
        Interlocked.Increment(ref _inflight);
        return RunAsync(request);
    }

    private async ValueTask<InferenceResult> RunAsync(InferenceRequest request)
    {
        var start = timeProvider.GetTimestamp();
        var received = request.ReceivedTimestamp != 0 ? request.ReceivedTimestamp : start;
        var responses = new List<InferenceResponse>(plan.Steps.Count);
        try
        {
            var result = await ExecuteAsync(request, responses).ConfigureAwait(false);
            var requestNs = ElapsedNs(received, timeProvider.GetTimestamp());
            if (result.Response is { } response)
            {
                var timings = default(ExecutionTimings);
                foreach (var r in responses)
                {
                    timings.ComputeInputNs += r.Timings.ComputeInputNs;
                    timings.ComputeInferNs += r.Timings.ComputeInferNs;
                    timings.ComputeOutputNs += r.Timings.ComputeOutputNs;
                }
                response.Timings = timings;
                statistics.RecordExecution(request.BatchSize, timings, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                statistics.RecordSuccess(requestNs, 0, timings);
            }
            else
            {
                statistics.RecordFailure(requestNs, result.Error!.Code switch
                {
                    ErrorCode.Cancelled => FailureReason.Canceled,
                    ErrorCode.Unavailable or ErrorCode.Timeout => FailureReason.Rejected,
                    ErrorCode.Internal => FailureReason.Backend,
                    _ => FailureReason.Other,
                });
            }
            return result;
        }
        finally
        {
            foreach (var r in responses)
            {
                r.Dispose();
            }
            request.Dispose();
            Interlocked.Decrement(ref _inflight);
        }
    }

    /// <summary>Runs the steps; every step response it gets is added to <paramref name="responses"/> (the caller disposes
    /// them after taking the requested outputs, which this moves into the returned response).</summary>
    private async Task<InferenceResult> ExecuteAsync(InferenceRequest request, List<InferenceResponse> responses)
    {
        var requested = RequestedOutputs(request);
        foreach (var (name, classes) in requested)
        {
            if (classes > 0 && plan.ConsumerOf(name) is { } consumer)
            {
                return InferenceResult.Failure(ErrorCode.Unsupported,
                    $"ensemble '{plan.Config.Name}': output '{name}' cannot be returned as a classification, step {consumer} ('{plan.Steps[consumer].ModelName}') consumes it");
            }
        }
        var needed = NeededTensors(requested.Keys);
        var tensors = new Dictionary<string, InferTensor>(StringComparer.Ordinal);
        foreach (var input in request.Inputs)
        {
            tensors[input.Name] = input;
        }
        // Where each needed tensor comes from: (response, index of the output in it).
        var produced = new Dictionary<string, (InferenceResponse Response, int Index)>(StringComparer.Ordinal);
        var pending = plan.Steps.Where(s => s.Outputs.Any(o => needed.Contains(o.Tensor))).ToList();
        var running = new List<(EnsembleStep Step, Task<InferenceResult> Task)>();
        InferenceError? error = null;
        while (pending.Count > 0 || running.Count > 0)
        {
            if (error is null)
            {
                for (var i = 0; i < pending.Count; i++)
                {
                    var step = pending[i];
                    if (step.Inputs.All(m => tensors.ContainsKey(m.Tensor)))
                    {
                        running.Add((step, server.InferAsync(StepRequest(request, step, tensors, needed, requested)).AsTask()));
                        pending.RemoveAt(i--);
                    }
                }
            }
            if (running.Count == 0)
            {
                error ??= new InferenceError(ErrorCode.Internal, $"ensemble '{plan.Config.Name}' cannot make progress: no step can run");
                break;
            }
            var done = await Task.WhenAny(running.Select(r => r.Task)).ConfigureAwait(false);
            var index = running.FindIndex(r => r.Task == done);
            var (completed, _) = running[index];
            running.RemoveAt(index);
            var result = await done.ConfigureAwait(false);
            if (result.Response is not { } response)
            {
                error ??= result.Error;
                continue;
            }
            responses.Add(response);
            foreach (var (modelOutput, tensor) in completed.Outputs)
            {
                var at = response.Outputs.FindIndex(o => o.Name == modelOutput);
                if (at < 0)
                {
                    continue;
                }
                var output = response.Outputs[at];
                produced[tensor] = (response, at);
                tensors[tensor] = new InferTensor(tensor, output.DataType, output.Shape, output.Data);
            }
        }
        if (error is not null)
        {
            return InferenceResult.Failure(error);
        }
        var ensembleResponse = new InferenceResponse { ModelName = request.ModelName, ModelVersion = version, Id = request.Id };
        foreach (var name in plan.OutputNames)
        {
            if (!requested.ContainsKey(name))
            {
                continue;
            }
            if (!produced.TryGetValue(name, out var source))
            {
                ensembleResponse.Dispose();
                return InferenceResult.Failure(ErrorCode.Internal, $"ensemble '{plan.Config.Name}': output '{name}' was not produced");
            }
            var output = source.Response.Outputs[source.Index];
            ensembleResponse.Outputs.Add(new InferTensor(name, output.DataType, output.Shape, output.Data, output.TakeOwner()));
        }
        return InferenceResult.Success(ensembleResponse);
    }

    private InferenceRequest StepRequest(InferenceRequest request, EnsembleStep step, Dictionary<string, InferTensor> tensors,
        HashSet<string> needed, Dictionary<string, int> requested)
    {
        var stepRequest = new InferenceRequest
        {
            ModelName = step.ModelName,
            ModelVersion = step.ModelVersion,
            Id = request.Id,
            Priority = request.Priority,
            TimeoutMicroseconds = request.TimeoutMicroseconds,
            Parameters = request.Parameters,
            CancellationToken = request.CancellationToken,
            ReceivedTimestamp = timeProvider.GetTimestamp(),
        };
        foreach (var (modelInput, tensor) in step.Inputs)
        {
            var t = tensors[tensor];
            // A view: the ensemble owns the bytes until the request completes.
            stepRequest.Inputs.Add(new InferTensor(modelInput, t.DataType, t.Shape, t.Data));
        }
        foreach (var (modelOutput, tensor) in step.Outputs)
        {
            if (needed.Contains(tensor))
            {
                stepRequest.Outputs.Add(new RequestedOutput(modelOutput, requested.GetValueOrDefault(tensor)));
            }
        }
        return stepRequest;
    }

    /// <summary>The ensemble outputs to return (all when the request names none) with their classification counts.</summary>
    private Dictionary<string, int> RequestedOutputs(InferenceRequest request)
    {
        var requested = new Dictionary<string, int>(StringComparer.Ordinal);
        if (request.Outputs.Count == 0)
        {
            foreach (var name in plan.OutputNames)
            {
                requested[name] = 0;
            }
        }
        foreach (var o in request.Outputs)
        {
            requested[o.Name] = o.ClassificationCount;
        }
        return requested;
    }

    /// <summary>The tensors the requested outputs depend on, through the steps that write them.</summary>
    private HashSet<string> NeededTensors(IEnumerable<string> outputs)
    {
        var needed = new HashSet<string>(StringComparer.Ordinal);
        var work = new Stack<string>(outputs);
        while (work.TryPop(out var tensor))
        {
            if (!needed.Add(tensor))
            {
                continue;
            }
            var producer = plan.ProducerOf(tensor);
            if (producer >= 0)
            {
                foreach (var (_, input) in plan.Steps[producer].Inputs)
                {
                    work.Push(input);
                }
            }
        }
        return needed;
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        _stopping = true;
        while (Volatile.Read(ref _inflight) > 0)
        {
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private long ElapsedNs(long start, long end) => end <= start ? 0 : timeProvider.GetElapsedTime(start, end).Ticks * 100;
}
