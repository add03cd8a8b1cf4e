using LoadTest.Clients;
using LoadTest.Inputs;
using LoadTest.Model;
using SkiaSharp;

namespace LoadTest.Cli;

/// <summary>The prepared requests and how to validate their responses.</summary>
public sealed record RequestSet(IReadOnlyList<RequestTemplate> Templates, ResponseValidator Validator, int BatchSize, string Description);

/// <summary>
/// Turns <see cref="RequestOptions"/> and the model's metadata (when the server gave it) into request templates:
/// inputs, datatypes and shapes from the metadata unless the command line says otherwise, the batch dimension
/// prepended when the model batches (max_batch_size &gt; 0), random data or decoded images, and the expected outputs.
/// Throws <see cref="ArgumentException"/> with a message naming the option to fix.
/// </summary>
public static class RequestSetup
{
    public static RequestSet Build(ModelInfo? model, RequestOptions o)
    {
        var batching = model is null ? o.Batch > 0 : model.MaxBatchSize > 0;
        var batch = batching ? Math.Max(o.Batch, 1) : 0;
        if (model is not null && batching && batch > model.MaxBatchSize)
        {
            throw new ArgumentException($"--batch {batch} exceeds the model's max_batch_size {model.MaxBatchSize}");
        }
        var specs = InputSpecs(model, o, batching);
        var outputs = o.Outputs.Count > 0 ? o.Outputs : model?.Outputs.Select(t => t.Name).ToList()
            ?? throw new ArgumentException("without the model's metadata, name the outputs with --output");
        var expectations = outputs.Select(name =>
        {
            var meta = model?.Outputs.FirstOrDefault(t => t.Name == name);
            if (model is not null && meta is null)
            {
                throw new ArgumentException($"--output {name}: the model has no such output ({string.Join(", ", model.Outputs.Select(t => t.Name))})");
            }
            long[]? shape = meta is null ? null : batching ? [batch, .. meta.Shape.Skip(1)] : meta.Shape;
            return new OutputExpectation(name, meta?.DataType, shape);
        }).ToList();

        var random = new Random(o.Seed);
        List<RequestTemplate> templates;
        string data;
        if (o.ImagesDirectory is not null || o.SyntheticImages)
        {
            var files = o.ImagesDirectory is null ? [] : ImageTensors.FindImages(o.ImagesDirectory);
            var images = o.ImagesDirectory is null ? [.. Enumerable.Range(0, 8).Select(ImageTensors.Synthetic)] : files.Select(ImageTensors.Load).ToList();
            try
            {
                templates = ImageTemplates(images, specs, batch, o.Scaling, random, outputs);
            }
            finally
            {
                images.ForEach(i => i.Dispose());
            }
            data = (o.ImagesDirectory is null ? "8 synthetic 224x224 images" : $"{files.Count} images from {o.ImagesDirectory}") + $" ({o.Scaling} scaling)";
        }
        else
        {
            templates = [new RequestTemplate([.. specs.Select(s => RandomTensors.Create(s, batch, random))], outputs)];
            data = "random";
        }
        var description = string.Join("; ", specs.Select(s => $"{s.Name} {s.DataType} [{string.Join(",", s.RequestShape(batch))}]")) + $", {data} data";
        return new RequestSet(templates, new ResponseValidator(expectations, o.ExpectTop1), Math.Max(batch, 1), description);
    }

    /// <summary>Templates for image data: the first input gets the images (a batch of consecutive ones per request,
    /// wrapping around); any other input random data.</summary>
    public static List<RequestTemplate> ImageTemplates(IReadOnlyList<SKBitmap> images, IReadOnlyList<InputSpec> specs, int batch, ImageScaling scaling,
        Random random, IReadOnlyList<string> outputs)
    {
        var perRequest = Math.Max(batch, 1);
        var count = (images.Count + perRequest - 1) / perRequest;
        var templates = new List<RequestTemplate>();
        for (var r = 0; r < count; r++)
        {
            var slice = Enumerable.Range(r * perRequest, perRequest).Select(i => images[i % images.Count]).ToList();
            templates.Add(new RequestTemplate(
                [ImageTensors.Create(specs[0], batch, slice, scaling), .. specs.Skip(1).Select(s => RandomTensors.Create(s, batch, random))], outputs));
        }
        return templates;
    }

    private static List<InputSpec> InputSpecs(ModelInfo? model, RequestOptions o, bool batching)
    {
        if (model is null)
        {
            if (o.Input is null || o.Dims is null)
            {
                throw new ArgumentException("without the model's metadata, give --input and --dims (and --datatype unless FP32)");
            }
            return [new InputSpec(o.Input, o.DataType ?? "FP32", o.Dims)];
        }
        if (o.Input is not null && model.Inputs.All(t => t.Name != o.Input))
        {
            throw new ArgumentException($"--input {o.Input}: the model has no such input ({string.Join(", ", model.Inputs.Select(t => t.Name))})");
        }
        var ordered = o.Input is null ? model.Inputs : [.. model.Inputs.Where(t => t.Name == o.Input), .. model.Inputs.Where(t => t.Name != o.Input)];
        return [.. ordered.Select((t, i) =>
        {
            var dims = o.Shapes.TryGetValue(t.Name, out var given) ? given
                : i == 0 && o.Dims is not null ? o.Dims
                : batching ? t.Shape.Skip(1).ToArray() : t.Shape;
            if (dims.Any(d => d < 0))
            {
                throw new ArgumentException($"input '{t.Name}' has variable dims [{string.Join(",", t.Shape)}]: give them with --shape {t.Name}:d1,d2,...");
            }
            var datatype = i == 0 && o.DataType is not null ? o.DataType : t.DataType;
            return new InputSpec(t.Name, datatype, dims);
        })];
    }
}
