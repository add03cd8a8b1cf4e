using System.CommandLine;

namespace LoadTest.Cli;

/// <summary>The whole command line: the sweep (root), <c>scenario</c>, and the benchmark peers <c>bare-server</c> and
/// <c>plain-grpc-loop</c>.</summary>
public static class LoadTestCommand
{
    public static RootCommand Create()
    {
        var root = SweepCommand.Create();
        root.Subcommands.Add(ScenarioCommand.Create());
        root.Subcommands.Add(BareServerCommand.Create());
        root.Subcommands.Add(PlainGrpcLoopCommand.Create());
        root.Subcommands.Add(Reliability.ReliabilityCommand.Create());
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code.</summary>
    public static Task<int> RunAsync(string[] args, CancellationToken cancellationToken = default) =>
        Create().Parse(args).InvokeAsync(cancellationToken: cancellationToken);
}
