namespace LoadTest.Tune;

/// <summary>One precision variant of the model in the tune's repository: the served model's name, whether it is
/// usable (<see cref="PointStatus.Measured"/> here means built and accurate enough), and its accuracy against FP32
/// on held-out inputs (null for FP32 itself and for variants that failed to build).</summary>
public sealed record VariantRecord(string Precision, string ModelName, PointStatus Status, string? Message, VariantAccuracy? Accuracy);

/// <summary>The model tools' accuracy report, reduced to what the tune reports (see docs/model-tools.md).</summary>
public sealed record VariantAccuracy(int Samples, double Top1Agreement, double CosineMean, double CosineMin, double MaxAbsDiff);
