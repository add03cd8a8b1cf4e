namespace Inference.Server.Repository;

/// <summary>A model folder written by <see cref="ModelFileStore.Write"/>: the one-model repository to load it from
/// and the bytes it holds. <see cref="Deleted"/> is set (under the store's lock) once it has been deleted.</summary>
public sealed class WrittenModel(ModelRepository repository, long bytes)
{
    public ModelRepository Repository { get; } = repository;

    public long Bytes { get; } = bytes;

    internal bool Deleted { get; set; }
}
