using System.CommandLine;
using Inference.Server.ModelTools;

namespace Inference.Server.Cli;

/// <summary>
/// The server's model tools, as verbs of its command line (like trtexec beside tritonserver):
/// <c>Inference.Server build-resnet50 --output m.onnx</c>. Anything else starts the server.
/// </summary>
public static class ModelToolsCommand
{
    private static readonly HashSet<string> Verbs = ["build-resnet50", "default-repository", "write-identity", "write-tiny", "tools"];

    public static bool IsToolVerb(string[] args) => args.Length > 0 && Verbs.Contains(args[0]);

    public static Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("AspireInference model tools");

        var output = new Option<string>("--output", "-o") { Description = "Where to write the .onnx file", Required = true };
        var width = new Option<int>("--width") { Description = "Stem width (64 for ResNet-50)", DefaultValueFactory = _ => 64 };
        var classes = new Option<int>("--classes") { Description = "Number of classes", DefaultValueFactory = _ => 1000 };
        var imageSize = new Option<int>("--image-size") { Description = "Input height and width", DefaultValueFactory = _ => 224 };
        var seed = new Option<ulong>("--seed") { Description = "Weight seed", DefaultValueFactory = _ => ResNetOptions.ResNet50.Seed };
        var build = new Command("build-resnet50", "Write a ResNet v1.5 ONNX model (ResNet-50 by default) with seeded weights") { output, width, classes, imageSize, seed };
        build.SetAction(parse =>
        {
            var options = new ResNetOptions
            {
                BaseWidth = parse.GetValue(width), NumClasses = parse.GetValue(classes),
                ImageSize = parse.GetValue(imageSize), Seed = parse.GetValue(seed),
            };
            var info = ResNetBuilder.Write(parse.GetValue(output)!, options);
            Console.WriteLine($"wrote {parse.GetValue(output)}: {info}");
            return 0;
        });
        root.Subcommands.Add(build);

        var cache = new Option<string?>("--cache") { Description = "Cache folder (default $ASPIRE_INFERENCE_CACHE or ~/.cache/aspire-inference)" };
        var defaultRepo = new Command("default-repository", "Create the default repository (resnet50) if needed and print its path") { cache };
        defaultRepo.SetAction(parse =>
        {
            Console.WriteLine(DefaultModelRepository.EnsureCreated(parse.GetValue(cache)));
            return 0;
        });
        root.Subcommands.Add(defaultRepo);

        var repository = new Option<string>("--repository", "-r") { Description = "Model repository folder", Required = true };
        var name = new Option<string>("--name") { Description = "Model name", DefaultValueFactory = _ => "identity" };
        var tensorWidth = new Option<int>("--width") { Description = "Elements per row", DefaultValueFactory = _ => 16 };
        var maxBatch = new Option<int>("--max-batch-size") { DefaultValueFactory = _ => 64 };
        var instances = new Option<int>("--instances") { DefaultValueFactory = _ => 1 };
        var delay = new Option<int?>("--max-queue-delay-us") { Description = "Dynamic batching delay; omit for no dynamic batching" };
        var identity = new Command("write-identity", "Write an identity model (FP32 [batch,width]) and its config into a repository")
            { repository, name, tensorWidth, maxBatch, instances, delay };
        identity.SetAction(parse =>
        {
            Console.WriteLine(IdentityModelBuilder.Write(parse.GetValue(repository)!, parse.GetValue(name)!, parse.GetValue(tensorWidth),
                parse.GetValue(maxBatch), parse.GetValue(instances), parse.GetValue(delay)));
            return 0;
        });
        root.Subcommands.Add(identity);

        var tinyName = new Option<string>("--name") { DefaultValueFactory = _ => "resnet_tiny" };
        var tiny = new Command("write-tiny", "Write the small ResNet variant (same ops, few channels) and its config into a repository") { repository, tinyName };
        tiny.SetAction(parse =>
        {
            Console.WriteLine(DefaultModelRepository.WriteSmallModel(parse.GetValue(repository)!, parse.GetValue(tinyName)!));
            return 0;
        });
        root.Subcommands.Add(tiny);

        return root.Parse(args[0] == "tools" ? args[1..] : args).InvokeAsync();
    }
}
