using System.Diagnostics;

namespace Inference.Server.Tracing;

/// <summary>
/// Trace mode <c>opentelemetry</c>: each completed trace becomes Triton's three spans on the server's ActivitySource
/// (exported by the service defaults' OTLP exporter, so the Aspire dashboard shows them): <c>InferRequest</c> (the
/// top-level span, a child of the HTTP or gRPC call's span when there is one), the model span (named after the model,
/// with the request's attributes and its REQUEST_START, QUEUE_START and REQUEST_END events) and <c>compute</c> (with
/// the COMPUTE_* events). Timestamps are the trace's, moved onto the wall clock.
/// </summary>
public sealed class TraceSpans : IDisposable
{
    /// <summary>The ActivitySource name: the server's application name, which the service defaults already export.</summary>
    public const string SourceName = "Inference.Server";

    private readonly ActivitySource _source = new(SourceName);

    /// <summary>Whether anyone listens (an exporter is configured).</summary>
    public bool HasListeners => _source.HasListeners();

    internal void Emit(RequestTrace trace, TimeProvider time)
    {
        if (!_source.HasListeners())
        {
            return;
        }
        var nowTicks = time.GetTimestamp();
        var nowWall = time.GetUtcNow();
        DateTimeOffset Wall(long ticks) => nowWall - time.GetElapsedTime(ticks, nowTicks);

        var previous = Activity.Current;
        try
        {
            var end = trace.RequestEnd != 0 ? trace.RequestEnd : nowTicks;
            using var root = _source.StartActivity("InferRequest", ActivityKind.Internal, trace.Parent, startTime: Wall(trace.RequestStart));
            if (root is null)
            {
                return;
            }
            using (var model = _source.StartActivity(trace.ModelName, ActivityKind.Internal, root.Context, startTime: Wall(trace.RequestStart)))
            {
                if (model is not null)
                {
                    model.SetTag("triton.model_name", trace.ModelName);
                    model.SetTag("triton.model_version", trace.ModelVersion);
                    model.SetTag("triton.trace_id", (long)trace.Id);
                    model.SetTag("triton.trace_parent_id", 0L);
                    if (trace.RequestId.Length > 0)
                    {
                        model.SetTag("triton.request_id", trace.RequestId);
                    }
                    AddEvent(model, "REQUEST_START", trace.RequestStart);
                    AddEvent(model, "QUEUE_START", trace.QueueStart);
                    if (trace.ComputeStart != 0)
                    {
                        using var compute = _source.StartActivity("compute", ActivityKind.Internal, model.Context, startTime: Wall(trace.ComputeStart));
                        if (compute is not null)
                        {
                            AddEvent(compute, "COMPUTE_START", trace.ComputeStart);
                            AddEvent(compute, "COMPUTE_INPUT_END", trace.ComputeInputEnd);
                            AddEvent(compute, "COMPUTE_OUTPUT_START", trace.ComputeOutputStart);
                            AddEvent(compute, "COMPUTE_END", trace.ComputeEnd);
                            compute.SetEndTime(Wall(trace.ComputeEnd).UtcDateTime);
                        }
                    }
                    AddEvent(model, "REQUEST_END", trace.RequestEnd);
                    model.SetEndTime(Wall(end).UtcDateTime);
                }
            }
            root.SetEndTime(Wall(end).UtcDateTime);
        }
        finally
        {
            Activity.Current = previous;
        }

        void AddEvent(Activity activity, string name, long ticks)
        {
            if (ticks != 0)
            {
                activity.AddEvent(new ActivityEvent(name, Wall(ticks)));
            }
        }
    }

    public void Dispose() => _source.Dispose();
}
