namespace LoadTest.Inputs;

/// <summary>What one model input needs per request: its name, wire datatype and dimensions without the batch
/// dimension (for a model that batches) or the full shape (for one that does not). No -1 left.</summary>
public sealed record InputSpec(string Name, string DataType, long[] Dims)
{
    /// <summary>Full request shape: <c>[batch, ..Dims]</c> when <paramref name="batch"/> &gt; 0, else <see cref="Dims"/>.</summary>
    public long[] RequestShape(int batch) => batch > 0 ? [batch, .. Dims] : Dims;
}
