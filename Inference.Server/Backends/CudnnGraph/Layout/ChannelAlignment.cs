namespace Inference.Server.Backends.CudnnGraph.Layout;

/// <summary>
/// Channel counts as the engine stores them: FP16 NHWC tensors and KRSC filters with channels padded (zeros) to a
/// multiple of 8, the unit cuDNN's tensor-core kernels read (16 bytes). ResNet's 3-channel stem input is the one
/// that grows (to 8); every other ResNet-50 channel count is a multiple of 8 already.
/// </summary>
public static class ChannelAlignment
{
    public const int Fp16 = 8;

    public static int Pad(int channels, int alignment = Fp16)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(alignment);
        return (channels + alignment - 1) / alignment * alignment;
    }
}
