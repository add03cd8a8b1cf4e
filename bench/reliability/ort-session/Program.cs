using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

// ort-session MODEL.onnx [all|basic] [noarena]: prints this process's RSS before a session of MODEL exists, after it
// is created (as the server creates its CPU sessions: graph optimizations at the given level, 2 intra-op threads) and
// after one batch-1 and one batch-8 run of its first input ([batch, 3, 224, 224] FP32 zeros).
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: ort-session MODEL.onnx [all|basic] [noarena]");
    return 2;
}
var level = args.Contains("basic") ? GraphOptimizationLevel.ORT_ENABLE_BASIC : GraphOptimizationLevel.ORT_ENABLE_ALL;
GC.Collect();
var before = RssMiB();
using var options = new SessionOptions
{
    GraphOptimizationLevel = level,
    IntraOpNumThreads = 2,
    EnableCpuMemArena = !args.Contains("noarena"),
    LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
};
using var session = new InferenceSession(args[0], options);
GC.Collect();
var created = RssMiB();
var input = session.InputMetadata.Keys.First();
foreach (var batch in new[] { 1, 8 })
{
    var tensor = new DenseTensor<float>(new[] { batch, 3, 224, 224 });
    using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(input, tensor)]);
}
GC.Collect();
var ran = RssMiB();
Console.WriteLine($"ort-session {string.Join(' ', args.Skip(1))}: RSS {before} MiB before, {created} MiB with the session (+{created - before}), " +
    $"{ran} MiB after batch 1 and 8 runs (+{ran - created})");
return 0;

static long RssMiB() => long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
    .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
