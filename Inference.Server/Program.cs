using Inference.Server.Cli;
using Inference.Server.Hosting;

if (ModelToolsCommand.IsToolVerb(args))
{
    return await ModelToolsCommand.RunAsync(args);
}

if (GpuToolsCommand.IsGpuVerb(args)) { return await GpuToolsCommand.RunAsync(args); }

if (SharedMemoryBenchCommand.IsVerb(args)) { return await SharedMemoryBenchCommand.RunAsync(args); }

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(TritonCommandLine.ExpandLoadModel(args), TritonCommandLine.SwitchMappings);
builder.AddServiceDefaults();
builder.AddInferenceServer();

var app = builder.Build();
app.MapInferenceServer();
await app.RunAsync();
return 0;

/// <summary>Lets tests start the real server with <c>WebApplicationFactory</c>-free hosting.</summary>
public partial class Program;
