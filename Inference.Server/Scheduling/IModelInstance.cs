using Inference.Server.Core;

namespace Inference.Server.Scheduling;

/// <summary>
/// One execution context of a model (one ONNX Runtime session, one device). The scheduler calls
/// <see cref="Execute"/> from one dedicated thread per instance, so an instance is never called concurrently.
/// </summary>
public interface IModelInstance : IDisposable
{
    /// <summary>Triton's instance name, e.g. "resnet50_0_1" (group name, index).</summary>
    string Name { get; }

    /// <summary>"cpu" or "gpu:N": where this instance runs.</summary>
    string Device { get; }

    /// <summary>
    /// Runs the requests as one batch: their inputs are concatenated along the batch dimension
    /// (sum of <see cref="InferenceRequest.BatchSize"/> never exceeds max_batch_size), the outputs are split
    /// back and <paramref name="responses"/>[i] receives request i's response (only the requested outputs).
    /// Fills <paramref name="timings"/>. Throws only for backend failures, which fail the whole batch.
    /// </summary>
    void Execute(IReadOnlyList<InferenceRequest> requests, InferenceResponse[] responses, ref ExecutionTimings timings);

    /// <summary>
    /// Called once on the thread that will call <see cref="Execute"/>, before warmup and before any request: work
    /// that belongs to the executing thread (a GPU instance captures its CUDA graphs here, since ONNX Runtime keeps
    /// them per thread). Throws when the instance cannot serve; the load then fails.
    /// </summary>
    void PrepareOnExecutingThread()
    {
    }

    /// <summary>
    /// Batch sizes this instance runs without padding once prepared (a GPU instance's captured CUDA graph sizes; it
    /// pads any other size up to the next one). Empty: every size runs as it is. The scheduler shapes batches
    /// towards these sizes (<see cref="BatchFormer.UseExactBatchSizes"/>).
    /// </summary>
    IReadOnlyList<int> ExactBatchSizes => [];
}

/// <summary>Durations of one execution in nanoseconds, as Triton's statistics split them.</summary>
public struct ExecutionTimings
{
    /// <summary>Gathering request inputs into the batch buffers (and copies to the device).</summary>
    public long ComputeInputNs;

    /// <summary>The model run itself.</summary>
    public long ComputeInferNs;

    /// <summary>Splitting outputs back into the requests' responses.</summary>
    public long ComputeOutputNs;

    /// <summary>Rows run in addition to the requests' own to fill a captured CUDA graph's batch size (outputs discarded).</summary>
    public int PaddedRows;
}
