using System.CommandLine;
using System.Runtime.InteropServices;

namespace LoadTest.Cli;

/// <summary>The whole command line: the sweep (root), <c>scenario</c>, and the benchmark peers <c>bare-server</c> and
/// <c>plain-grpc-loop</c>, the <c>reliability</c> suite and <c>tune</c>.</summary>
public static class LoadTestCommand
{
    public static RootCommand Create()
    {
        var root = SweepCommand.Create();
        root.Subcommands.Add(ScenarioCommand.Create());
        root.Subcommands.Add(BareServerCommand.Create());
        root.Subcommands.Add(PlainGrpcLoopCommand.Create());
        root.Subcommands.Add(Reliability.ReliabilityCommand.Create());
        root.Subcommands.Add(TuneCommand.Create());
        return root;
    }

    /// <summary>Exit code after SIGINT (Ctrl+C): 128 + 2, as shells report it.</summary>
    public const int SigIntExitCode = 130;

    /// <summary>Exit code after SIGTERM (docker stop, the Aspire dashboard's Stop): 128 + 15.</summary>
    public const int SigTermExitCode = 143;

    /// <summary>
    /// Runs <paramref name="args"/> as the process: SIGINT or SIGTERM cancels the run, which stops the current level,
    /// writes the report (finished levels plus the interrupted one) and exits 130 (SIGINT) or 143 (SIGTERM). Should the
    /// run not wind down within <paramref name="grace"/>, the process exits with that code anyway; a second signal
    /// terminates it at once.
    /// </summary>
    public static async Task<int> RunProcessAsync(string[] args, TimeSpan grace)
    {
        using var cts = new CancellationTokenSource();
        var code = 0;
        void OnSignal(PosixSignalContext context)
        {
            var signalCode = context.Signal == PosixSignal.SIGINT ? SigIntExitCode : SigTermExitCode;
            if (Interlocked.CompareExchange(ref code, signalCode, 0) != 0)
            {
                return; // second signal: let the runtime terminate the process
            }
            context.Cancel = true;
            Console.Error.WriteLine($"{context.Signal}: stopping, writing the partial results");
            cts.Cancel();
            _ = Task.Delay(grace).ContinueWith(_ =>
            {
                Console.Error.WriteLine($"did not stop within {grace.TotalSeconds:0.#} s; exiting");
                Environment.Exit(signalCode);
            }, TaskScheduler.Default);
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        // Our own handlers replace System.CommandLine's (which would wait, then return without the report).
        var result = await Create().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, cts.Token);
        var signalled = Volatile.Read(ref code);
        return signalled != 0 ? signalled : result;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code.</summary>
    public static Task<int> RunAsync(string[] args, CancellationToken cancellationToken = default) =>
        Create().Parse(args).InvokeAsync(cancellationToken: cancellationToken);
}
