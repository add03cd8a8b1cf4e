namespace Inference.Server.SharedMemory;

/// <summary>Triton's two kinds of registered regions: system (POSIX) and CUDA (IPC) shared memory.</summary>
public enum SharedMemoryKind
{
    System,
    Cuda,
}
