namespace Inference.Server.ModelTools.Onnx;

/// <summary>A float constant of the graph whose values are produced only when the model is written:
/// <see cref="Fill"/> receives a span of exactly <see cref="ElementCount"/> elements and must fill all of it,
/// the same way every time it is called.</summary>
public sealed record OnnxInitializer(string Name, long[] Dims, OnnxInitializer.FillAction Fill)
{
    public delegate void FillAction(Span<float> values);

    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (var d in Dims)
            {
                count = checked(count * d);
            }
            return count;
        }
    }
}
